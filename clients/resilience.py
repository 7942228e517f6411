"""What protects the BFF and a downstream service from each other, per service.

See docs/resilience.md.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from clients.breaker import BreakerPolicy, CircuitBreaker, State
from clients.hedging import HedgePolicy, LatencyTracker
from clients.retry import BudgetPolicy, RetryBudget, RetryPolicy


@dataclass(frozen=True, slots=True)
class ResiliencePolicy:
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    budget: BudgetPolicy = field(default_factory=BudgetPolicy)
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    hedge: HedgePolicy = field(default_factory=HedgePolicy)


class ResilienceEvents(Protocol):
    def circuit_changed(self, service: str, old: State, new: State, why: str) -> None: ...

    def retried(self, service: str, reason: str) -> None:
        """Another attempt is made; `reason` names the failure (timeout, unavailable, 503...)."""
        ...

    def retry_refused(self, service: str, limit: str) -> None:
        """A retry or hedge was wanted but `limit` (budget, deadline) said no."""
        ...

    def hedged(self, service: str) -> None: ...


class Resilience:
    """One service's breaker, retry budget and latency trackers."""

    def __init__(
        self,
        service: str,
        policy: ResiliencePolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
        events: ResilienceEvents | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.service = service
        self.policy = policy
        self.events = events
        self.rng = rng or random.Random()
        self.breaker = CircuitBreaker(policy.breaker, clock=clock, listener=self._changed)
        self.budget = RetryBudget(policy.budget, clock)
        self._trackers: dict[str, LatencyTracker] = {}

    def tracker(self, route: str) -> LatencyTracker:
        tracker = self._trackers.get(route)
        if tracker is None:
            tracker = self._trackers[route] = LatencyTracker(self.policy.hedge)
        return tracker

    def retried(self, reason: str) -> None:
        if self.events is not None:
            self.events.retried(self.service, reason)

    def refused(self, limit: str) -> None:
        if self.events is not None:
            self.events.retry_refused(self.service, limit)

    def hedged(self) -> None:
        if self.events is not None:
            self.events.hedged(self.service)

    def _changed(self, old: State, new: State, why: str) -> None:
        if self.events is not None:
            self.events.circuit_changed(self.service, old, new, why)
