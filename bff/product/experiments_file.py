"""The experiments file: experiments and feature flags in TOML, checked strictly.

See docs/experiments.md for its format.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from bff.config.reloading import LoadError
from resolvers.experiments import Audience, ClientRule, Experiment, Flag, Rules, version_tuple

_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_CLIENT: Final = re.compile(r"(?P<name>[A-Za-z0-9._:/+-]+?)(?:>=(?P<version>[0-9.]+))?")


class ExperimentsError(LoadError):
    """The experiments file is not valid; the message says where."""


def load_rules(path: Path) -> Rules:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ExperimentsError(f"{path}: cannot read it ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise ExperimentsError(f"{path}: not TOML ({error})") from None
    return parse_rules(document, str(path))


def parse_rules(document: Mapping[str, object], where: str = "experiments") -> Rules:
    _only(document, {"experiments", "flags"}, where)
    experiments = {
        name: _experiment(name, table, f"{where}: experiments.{name}")
        for name, table in _tables(document.get("experiments", {}), f"{where}: experiments")
    }
    flags = {
        name: _flag(name, table, f"{where}: flags.{name}")
        for name, table in _tables(document.get("flags", {}), f"{where}: flags")
    }
    return Rules(experiments, flags)


def _experiment(name: str, table: Mapping[str, object], where: str) -> Experiment:
    _only(table, {"variants", "audience", "start", "stop"}, where)
    if "variants" not in table:
        raise ExperimentsError(f"{where}: `variants` is required")
    start = _time(table.get("start"), f"{where}.start")
    stop = _time(table.get("stop"), f"{where}.stop")
    if start is not None and stop is not None and stop <= start:
        raise ExperimentsError(f"{where}: `stop` must come after `start`")
    return Experiment(
        name,
        _weights(table["variants"], f"{where}.variants"),
        _audience(table.get("audience", {}), f"{where}.audience"),
        start,
        stop,
    )


def _flag(name: str, table: Mapping[str, object], where: str) -> Flag:
    _only(table, {"variants", "audience", "enabled"}, where)
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ExperimentsError(f"{where}.enabled: true or false")
    variants = _weights(table["variants"], f"{where}.variants") if "variants" in table else {}
    return Flag(name, _audience(table.get("audience", {}), f"{where}.audience"), enabled, variants)


def _audience(value: object, where: str) -> Audience:
    if not isinstance(value, dict):
        raise ExperimentsError(f"{where}: a table")
    _only(value, {"tiers", "countries", "clients", "percentage"}, where)
    percentage = value.get("percentage", 100)
    if isinstance(percentage, bool) or not isinstance(percentage, int | float):
        raise ExperimentsError(f"{where}.percentage: a number from 0 to 100")
    if not 0 <= percentage <= 100:
        raise ExperimentsError(f"{where}.percentage: a number from 0 to 100")
    return Audience(
        tiers=frozenset(_strings(value.get("tiers", []), f"{where}.tiers")),
        countries=frozenset(_strings(value.get("countries", []), f"{where}.countries")),
        clients=tuple(
            _client(rule, f"{where}.clients") for rule in _strings(value.get("clients", []), where)
        ),
        percentage=float(percentage),
    )


def _client(rule: str, where: str) -> ClientRule:
    match = _CLIENT.fullmatch(rule)
    version = match.group("version") if match else None
    parsed = version_tuple(version) if version else ()
    if match is None or parsed is None:
        raise ExperimentsError(f"{where}: {rule!r} is not `name` or `name>=1.2.3`")
    return ClientRule(match.group("name"), parsed)


def _weights(value: object, where: str) -> dict[str, int]:
    if not isinstance(value, dict) or not value:
        raise ExperimentsError(f"{where}: a table of variant = weight")
    weights = {}
    for variant, weight in value.items():
        if not _NAME.fullmatch(variant):
            raise ExperimentsError(f"{where}: {variant!r} is not a valid variant name")
        if isinstance(weight, bool) or not isinstance(weight, int) or weight < 0:
            raise ExperimentsError(f"{where}.{variant}: a whole number, 0 or more")
        weights[variant] = weight
    if sum(weights.values()) == 0:
        raise ExperimentsError(f"{where}: at least one weight must be above 0")
    return weights


def _time(value: object, where: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ExperimentsError(f"{where}: a date-time such as 2026-11-01T00:00:00Z")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _tables(value: object, where: str) -> list[tuple[str, Mapping[str, object]]]:
    if not isinstance(value, dict):
        raise ExperimentsError(f"{where}: a table of named tables")
    tables: list[tuple[str, Mapping[str, object]]] = []
    for name, table in value.items():
        if not _NAME.fullmatch(name):
            raise ExperimentsError(f"{where}: {name!r} is not a valid name")
        if not isinstance(table, dict):
            raise ExperimentsError(f"{where}.{name}: a table")
        tables.append((name, table))
    return tables


def _strings(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ExperimentsError(f"{where}: a list of strings")
    return list(value)


def _only(table: Mapping[str, object], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ExperimentsError(f"{where}: unknown key {', '.join(unknown)}")
