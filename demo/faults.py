"""Injected faults: latency, errors and hangs, per service, for tests and benchmarks.

A `Faults` object is mutable on purpose: tests, `PUT /_demo/faults` and the command
line change a running service's behaviour through it. Draws come from the object's
own `random.Random`, seeded per service, so a run with the same settings and the same
request sequence fails the same requests.
"""

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from demo.hold import Hold

# The knobs, in the order the environment, the command line and the JSON use them.
SETTINGS: Final = (
    "latency_ms",
    "jitter_ms",
    "error_rate",
    "hang_rate",
    "hang_seconds",
    "retry_after_s",
)
_RATES: Final = frozenset({"error_rate", "hang_rate"})


@dataclass(frozen=True, slots=True)
class Disturbance:
    """What to do to one request: wait `delay` seconds, then fail it or answer it."""

    delay: float
    fail: bool


@dataclass(slots=True)
class Faults:
    """Per-service fault settings.

    Every answered request waits `latency_ms` plus a uniform 0..`jitter_ms`; a share
    `hang_rate` additionally waits `hang_seconds` (by default far beyond any caller's
    timeout); a share `error_rate` is then answered `503`, with a `Retry-After` of
    `retry_after_s` seconds when that is not zero. Before all that, `hold` may keep a
    request waiting until a test releases it (`demo.hold`).
    """

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    hang_rate: float = 0.0
    hang_seconds: float = 300.0
    retry_after_s: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False, compare=False)
    hold: Hold = field(default_factory=Hold, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in SETTINGS:
            _check(name, getattr(self, name))

    @classmethod
    def for_service(cls, service: str, **settings: float) -> "Faults":
        """Faults whose draws are seeded by the service name, so services differ."""
        return cls(**settings, rng=random.Random(f"faults:{service}"))

    @classmethod
    def from_environ(cls, service: str, environ: Mapping[str, str]) -> "Faults":
        """`DEMO_LATENCY_MS`, ... for every service; `DEMO_CATALOG_LATENCY_MS`, ... for one."""
        settings: dict[str, float] = {}
        for name in SETTINGS:
            for variable in (f"DEMO_{name.upper()}", f"DEMO_{service.upper()}_{name.upper()}"):
                raw = environ.get(variable)
                if raw is None:
                    continue
                try:
                    settings[name] = _check(name, float(raw))
                except ValueError as error:
                    raise ValueError(f"{variable}={raw!r}: {error}") from None
        return cls.for_service(service, **settings)

    def update(self, changes: Mapping[str, object]) -> None:
        """Apply a partial update, all or nothing; ValueError names the first bad key."""
        checked: dict[str, float] = {}
        for name, value in changes.items():
            if name not in SETTINGS:
                raise ValueError(f"unknown setting {name!r}; known: {', '.join(SETTINGS)}")
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number")
            checked[name] = _check(name, float(value))
        for name, value in checked.items():
            setattr(self, name, value)

    def to_json(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in SETTINGS}

    def draw(self) -> Disturbance:
        delay = self.latency_ms / 1000
        if self.jitter_ms:
            delay += self.rng.uniform(0, self.jitter_ms) / 1000
        if self.hang_rate and self.rng.random() < self.hang_rate:
            delay += self.hang_seconds
        return Disturbance(delay, bool(self.error_rate) and self.rng.random() < self.error_rate)


def _check(name: str, value: float) -> float:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0")
    if name in _RATES and value > 1:
        raise ValueError(f"{name} must be between 0 and 1")
    return value
