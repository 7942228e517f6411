"""Experiments and feature flags: who gets which variant, decided the same way everywhere.

See docs/experiments.md, Assignment.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

Weights = Mapping[str, int]


@dataclass(frozen=True, slots=True)
class ClientRule:
    """A client name, and optionally the lowest version that qualifies."""

    name: str
    min_version: tuple[int, ...] = ()

    def matches(self, name: str, version: str) -> bool:
        if name != self.name:
            return False
        if not self.min_version:
            return True
        parsed = version_tuple(version)
        return parsed is not None and parsed >= self.min_version


def version_tuple(version: str) -> tuple[int, ...] | None:
    """`3.10.1` as (3, 10, 1); None when a part is not a number."""
    parts = version.split(".")
    if not all(part.isdigit() for part in parts):
        return None
    return tuple(int(part) for part in parts)


@dataclass(frozen=True, slots=True)
class Audience:
    """Who may take part; empty lists mean "anyone"."""

    tiers: frozenset[str] = frozenset()
    countries: frozenset[str] = frozenset()
    clients: tuple[ClientRule, ...] = ()
    percentage: float = 100.0

    @property
    def needs_profile(self) -> bool:
        return bool(self.tiers or self.countries)


@dataclass(frozen=True, slots=True)
class Experiment:
    name: str
    variants: Weights
    audience: Audience = field(default_factory=Audience)
    start: datetime | None = None
    stop: datetime | None = None

    def running(self, now: datetime) -> bool:
        return (self.start is None or self.start <= now) and (self.stop is None or now < self.stop)


@dataclass(frozen=True, slots=True)
class Flag:
    """On for its audience when `enabled`; with `variants`, also picks one of them."""

    name: str
    audience: Audience = field(default_factory=Audience)
    enabled: bool = True
    variants: Weights = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rules:
    experiments: Mapping[str, Experiment] = field(default_factory=dict)
    flags: Mapping[str, Flag] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Subject:
    """Who is asking, as far as targeting needs to know."""

    unit: str | None
    """The user id, or an anonymous caller's stable client id; None: neither is known."""
    client_name: str
    client_version: str


@dataclass(frozen=True, slots=True)
class Profile:
    tier: str | None
    country: str | None


@dataclass(frozen=True, slots=True)
class FlagState:
    name: str
    enabled: bool
    variant: str | None


@dataclass(frozen=True, slots=True)
class Exposure:
    experiment: str
    variant: str
    unit: str


def draw(purpose: str, name: str, unit: str) -> float:
    """A number in [0, 1) fixed by its inputs: the same on every replica, every time."""
    digest = hashlib.sha256(f"{purpose}\0{name}\0{unit}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def pick(weights: Weights, point: float) -> str:
    """The variant whose share of the total weight contains `point`."""
    total = sum(weights.values())
    threshold = point * total
    running = 0
    for variant, weight in weights.items():
        running += weight
        if threshold < running:
            return variant
    return next(reversed(list(weights)))


class Assignments:
    """One request's view of the experiments and flags; decisions are memoised."""

    def __init__(
        self,
        rules: Rules,
        subject: Subject,
        *,
        profile: Callable[[], Awaitable[Profile | None]],
        exposed: Callable[[Exposure], None],
        now: datetime,
    ) -> None:
        self._rules = rules
        self._subject = subject
        self._load_profile = profile
        self._profile: Profile | None = None
        self._profile_read = False
        self._exposed = exposed
        self._now = now
        self._variants: dict[str, str | None] = {}
        self.served: dict[str, str] = {}
        """Experiment variants served in this request, for its usage event."""

    async def variant(self, experiment: str) -> str | None:
        """The caller's variant, counted as served; None outside the experiment."""
        chosen = await self._assigned(experiment)
        if chosen is not None and experiment not in self.served:
            self.served[experiment] = chosen
            assert self._subject.unit is not None
            self._exposed(Exposure(experiment, chosen, self._subject.unit))
        return chosen

    async def experiments(self) -> list[tuple[str, str]]:
        """Every running experiment the caller is in, with the variant served."""
        assigned = []
        for name in sorted(self._rules.experiments):
            chosen = await self.variant(name)
            if chosen is not None:
                assigned.append((name, chosen))
        return assigned

    async def flag(self, name: str) -> FlagState:
        """A flag as it stands for the caller; unknown flags are off."""
        flag = self._rules.flags.get(name)
        if flag is None or not flag.enabled or not await self._admits(name, flag.audience):
            return FlagState(name, False, None)
        variant = None
        if flag.variants:
            unit = self._subject.unit
            # With nobody to hash, the first variant listed (the control) is the answer.
            variant = (
                pick(flag.variants, draw("variant", name, unit))
                if unit is not None
                else next(iter(flag.variants))
            )
        return FlagState(name, True, variant)

    async def flags(self) -> list[FlagState]:
        return [await self.flag(name) for name in sorted(self._rules.flags)]

    async def _assigned(self, name: str) -> str | None:
        if name in self._variants:
            return self._variants[name]
        experiment = self._rules.experiments.get(name)
        chosen = None
        if (
            experiment is not None
            and self._subject.unit is not None
            and experiment.running(self._now)
            and await self._admits(name, experiment.audience)
        ):
            chosen = pick(experiment.variants, draw("variant", name, self._subject.unit))
        self._variants[name] = chosen
        return chosen

    async def _admits(self, name: str, audience: Audience) -> bool:
        subject = self._subject
        if audience.clients and not any(
            rule.matches(subject.client_name, subject.client_version) for rule in audience.clients
        ):
            return False
        # Without a unit the draw could not be repeated: a partial rollout leaves them out.
        if audience.percentage < 100 and (
            subject.unit is None or draw("rollout", name, subject.unit) * 100 >= audience.percentage
        ):
            return False
        if audience.needs_profile:
            profile = await self._profile_once()
            if profile is None:
                return False
            if audience.tiers and profile.tier not in audience.tiers:
                return False
            if audience.countries and profile.country not in audience.countries:
                return False
        return True

    async def _profile_once(self) -> Profile | None:
        if not self._profile_read:
            self._profile = await self._load_profile()
            self._profile_read = True
        return self._profile
