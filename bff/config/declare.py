"""Declaring settings once: a dataclass field that knows its environment variable.

A field declared with `integer(...)`, `milliseconds(...)`, `choice(...)` and the
like carries its variable's name, type, bounds, doc line and its demo and
production defaults; `group(...)` nests a dataclass of such fields and `each(...)`
repeats one per name. `Environ.group` builds the dataclasses from an environment;
`declared` lists the variables for `bff settings` and docs/configuration.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal, TypeVar

Profile = Literal["demo", "production"]
PREFIX = "BFF_"

_T = TypeVar("_T")
_S = TypeVar("_S", bound=str)
_ENV = "bff.env"
_GROUP = "bff.group"


class SettingsError(ValueError):
    """An environment variable is missing, malformed or unknown."""


class Secret(str):
    """A setting that must not show up in logs or reprs."""

    def __repr__(self) -> str:
        return "Secret('***')" if self else "Secret('')"


@dataclass(frozen=True, slots=True)
class Env:
    """How one field is read: its variable, syntax and defaults (in the variable's units)."""

    name: str
    """Without `BFF_`; OpenTelemetry's own variables keep their standard names."""
    doc: str
    kind: str
    """The syntax, with its bounds, as the docs show it."""
    parse: Callable[[str], Any]
    demo: Any
    production: Any
    convert: Callable[[Any], Any] = lambda value: value
    """From the variable's units to the field's (milliseconds to seconds, ...)."""
    shown: tuple[str, str] | None = None
    derive: Callable[[Mapping[str, Any]], Any] | None = None
    """The default, from the group's values read so far, when it depends on them."""

    @property
    def full(self) -> str:
        return self.name if self.name.startswith("OTEL_") else PREFIX + self.name

    def default(self, profile: Profile) -> Any:
        return self.demo if profile == "demo" else self.production

    def show(self, profile: Profile) -> str:
        if self.shown is not None:
            return self.shown[0 if profile == "demo" else 1]
        return _show(self.default(profile))

    def formatted(self, **names: object) -> Env:
        """A per-service template (`{SERVICE}_URL`) filled in."""

        def fill(value: Any) -> Any:
            return value.format(**names) if isinstance(value, str) else value

        return replace(
            self,
            name=fill(self.name),
            doc=fill(self.doc),
            demo=fill(self.demo),
            production=fill(self.production),
        )


@dataclass(frozen=True, slots=True)
class Group:
    """A nested dataclass of settings; `each` repeats it per name (`{SERVICE}` templates)."""

    cls: type[Any]
    title: str
    each: tuple[str, ...] = ()
    fill: Callable[[str], Mapping[str, object]] | None = None


def _show(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ",".join(str(item) for item in value)
    return "" if value is None else str(value)


_SAME: Any = object()


def _declare(
    name: str,
    demo: Any,
    production: Any,
    doc: str,
    kind: str,
    parse: Callable[[str], Any],
    *,
    convert: Callable[[Any], Any] = lambda value: value,
    shown: tuple[str, str] | None = None,
    derive: Callable[[Mapping[str, Any]], Any] | None = None,
) -> Any:
    production = demo if production is _SAME else production
    env = Env(name, doc, kind, parse, demo, production, convert, shown, derive)
    default = None if demo is None else convert(demo)
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata={_ENV: env})
    return field(default=default, metadata={_ENV: env})


def _bounded(low: int | None, high: int | None) -> tuple[str, Callable[[str], int]]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"must be an integer, got {raw!r}") from None
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"at least {low}" if high is None else f"between {low} and {high}"
            raise ValueError(f"must be {bounds}, got {value}")
        return value

    if low is None:
        return "", parse
    return (f" ≥ {low}" if high is None else f" {low}-{high}"), parse


def text(
    name: str,
    demo: str,
    doc: str,
    *,
    production: str = _SAME,
    shown: tuple[str, str] | None = None,
) -> str:
    result: str = _declare(name, demo, production, doc, "text", str, shown=shown)
    return result


def secret(name: str, doc: str, *, checked: bool = True) -> Secret:
    """A secret, none by default; `checked`: it must have 32 characters or more."""
    parse, kind = (long_secret, "secret, 32+ characters") if checked else (str, "secret")
    result: Secret = _declare(name, "", _SAME, doc, kind, parse, convert=Secret)
    return result


def long_secret(raw: str) -> str:
    """A secret's syntax: 32 characters or more."""
    if len(raw) < 32:
        raise ValueError("must be at least 32 characters (e.g. `openssl rand -base64 32`)")
    return raw


def boolean(name: str, demo: bool, doc: str, *, production: bool = _SAME) -> bool:
    result: bool = _declare(name, demo, production, doc, "boolean", _boolean)
    return result


def _boolean(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"must be true or false, got {raw!r}")


def integer(
    name: str,
    demo: int,
    doc: str,
    *,
    low: int | None = None,
    high: int | None = None,
    production: int = _SAME,
    shown: tuple[str, str] | None = None,
) -> int:
    bounds, parse = _bounded(low, high)
    result: int = _declare(name, demo, production, doc, "integer" + bounds, parse, shown=shown)
    return result


def inherited(name: str, doc: str, *, low: int, scale: int = 1, shown: str) -> Any:
    """An integer that, unset, takes another setting's value (None here, filled in later)."""
    bounds, parse = _bounded(low, None)
    unit = "milliseconds" if scale == 1000 else "integer"
    return _declare(
        name,
        None,
        None,
        doc,
        unit + bounds,
        parse,
        convert=lambda value: value / scale if scale != 1 else value,
        shown=(shown, shown),
    )


def milliseconds(
    name: str, demo: int, doc: str, *, low: int | None = None, production: int = _SAME
) -> float:
    """A duration given in whole milliseconds, held in seconds."""
    bounds, parse = _bounded(low, None)
    result: float = _declare(
        name, demo, production, doc, "milliseconds" + bounds, parse, convert=lambda ms: ms / 1000
    )
    return result


def megabytes(name: str, demo: int, doc: str, *, low: int | None = None) -> int:
    """A size given in megabytes (MiB), held in bytes."""
    bounds, parse = _bounded(low, None)
    result: int = _declare(
        name, demo, _SAME, doc, "megabytes" + bounds, parse, convert=lambda mb: mb * 1024 * 1024
    )
    return result


def percent(name: str, demo: int, doc: str, *, low: int = 0, high: int | None = None) -> float:
    """A share given in percent, held as a ratio."""
    bounds, parse = _bounded(low, high)
    result: float = _declare(
        name, demo, _SAME, doc, "percent" + bounds, parse, convert=lambda pct: pct / 100
    )
    return result


def choice(
    name: str,
    options: tuple[_S, ...],
    demo: _S,
    doc: str,
    *,
    production: _S = _SAME,
    derive: Callable[[Mapping[str, Any]], _S] | None = None,
    shown: tuple[str, str] | None = None,
) -> _S:
    def parse(raw: str) -> _S:
        for option in options:
            if raw.lower() == option:
                return option
        raise ValueError(f"must be one of {', '.join(options)}, got {raw!r}")

    kind = " \\| ".join(f"`{option}`" for option in options)
    result: _S = _declare(name, demo, production, doc, kind, parse, derive=derive, shown=shown)
    return result


def items(
    name: str,
    demo: tuple[str, ...],
    doc: str,
    *,
    production: tuple[str, ...] = _SAME,
    lower: bool = False,
) -> tuple[str, ...]:
    """A comma-separated list."""

    def parse(raw: str) -> tuple[str, ...]:
        listed = comma_list(raw)
        return tuple(item.lower() for item in listed) if lower else listed

    result: tuple[str, ...] = _declare(name, demo, production, doc, "comma-separated list", parse)
    return result


def parsed(
    name: str,
    demo: _T,
    doc: str,
    parse: Callable[[str], _T],
    *,
    kind: str,
    production: _T = _SAME,
    shown: tuple[str, str] | None = None,
) -> _T:
    """A value with its own syntax; `parse` raises ValueError with the reason."""
    result: _T = _declare(name, demo, production, doc, kind, parse, shown=shown)
    return result


def group(
    cls: type[_T],
    title: str,
) -> _T:
    """A nested dataclass of settings, shown under `title`."""
    result: _T = field(default_factory=cls, metadata={_GROUP: Group(cls, title)})
    return result


def each(
    cls: type[Any],
    title: str,
    names: tuple[str, ...],
    fill: Callable[[str], Mapping[str, object]],
) -> Any:
    """One `cls` per name, its templates filled in by `fill(name)`; read as a dict."""
    return field(default_factory=dict, metadata={_GROUP: Group(cls, title, names, fill)})


def comma_list(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


class Environ:
    """Reads declared variables from one environment, remembering which it read."""

    def __init__(self, environ: Mapping[str, str], profile: Profile) -> None:
        self._environ = environ
        self.profile = profile
        self.read: set[str] = set()

    def value(self, env: Env, values: Mapping[str, Any]) -> Any:
        self.read.add(env.full)
        raw = self._environ.get(env.full)
        if raw is None or raw == "":
            if env.derive is not None:
                return env.derive(values)
            default = env.default(self.profile)
            return None if default is None else env.convert(default)
        try:
            return env.convert(env.parse(raw.strip()))
        except ValueError as error:
            raise SettingsError(f"{env.full}: {error}") from None

    def group(self, cls: type[_T], fill: Mapping[str, object] | None = None) -> _T:
        """`cls` from its declared fields; nested groups are read in turn."""
        values: dict[str, Any] = {}
        for item in fields(cls):  # type: ignore[arg-type]
            env = item.metadata.get(_ENV)
            nested = item.metadata.get(_GROUP)
            if env is not None:
                values[item.name] = self.value(env.formatted(**fill) if fill else env, values)
            elif nested is not None and nested.fill is not None:
                values[item.name] = {
                    name: self.group(nested.cls, nested.fill(name)) for name in nested.each
                }
            elif nested is not None:
                values[item.name] = self.group(nested.cls)
        return cls(**values)

    def refuse_unknown(self) -> None:
        unknown = sorted(
            key for key in self._environ if key.startswith(PREFIX) and key not in self.read
        )
        if unknown:
            raise SettingsError(f"unknown setting {', '.join(unknown)}; see `bff settings`")


def declared(cls: type[Any], title: str) -> Iterator[tuple[str, Env]]:
    """Every variable under `cls` with its section's title: its own first, then its groups'."""
    groups: list[Group] = []
    for item in fields(cls):
        env = item.metadata.get(_ENV)
        if env is not None:
            yield title, env
        elif _GROUP in item.metadata:
            groups.append(item.metadata[_GROUP])
    for nested in groups:
        if nested.fill is None:
            yield from declared(nested.cls, nested.title)
            continue
        for name in nested.each:
            for _, env in declared(nested.cls, nested.title):
                yield nested.title, env.formatted(**nested.fill(name))
