"""A circuit breaker per downstream service: stop calling a service that keeps failing.

See docs/resilience.md, Circuit breakers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from clients.window import SlidingCounts

State = Literal["closed", "open", "half-open"]
STATES: tuple[State, ...] = ("closed", "open", "half-open")
_CALLS = 0
_FAILURES = 1


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    enabled: bool = True
    window_s: int = 10
    """Seconds of calls the failure ratio is computed over."""
    min_calls: int = 20
    """Calls the window must hold before the ratio can open the circuit."""
    failure_ratio: float = 0.5
    open_s: float = 5.0
    """How long an open circuit refuses calls before probing."""
    probes: int = 3
    """Successful probes that close a half-open circuit; also how many run at once."""


@dataclass(frozen=True, slots=True)
class Ticket:
    generation: int
    probe: bool


StateListener = Callable[[State, State, str], None]
"""Called with (old state, new state, why) on every change."""


class CircuitBreaker:
    def __init__(
        self,
        policy: BreakerPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
        listener: StateListener | None = None,
    ) -> None:
        self._policy = policy
        self._clock = clock
        self._listener = listener
        self.state: State = "closed"
        self._generation = 0
        self._opened_at = 0.0
        self._probes_running = 0
        self._probe_successes = 0
        self._window = SlidingCounts(policy.window_s, 2, clock)

    def acquire(self) -> Ticket | None:
        """Admit a call, or None: the circuit is open and the call must fail fast."""
        if not self._policy.enabled:
            return Ticket(self._generation, probe=False)
        if self.state == "open":
            if self._clock() - self._opened_at < self._policy.open_s:
                return None
            self._change("half-open", f"{self._policy.open_s:g} s passed; probing")
        if self.state == "half-open":
            if self._probes_running >= self._policy.probes:
                return None
            self._probes_running += 1
            return Ticket(self._generation, probe=True)
        return Ticket(self._generation, probe=False)

    def release(self, ticket: Ticket, *, ok: bool | None) -> None:
        """Report how an admitted call went; None when it says nothing about the service."""
        if not self._policy.enabled or ticket.generation != self._generation:
            return
        if ticket.probe:
            self._probes_running -= 1
            if ok is None:
                return
            if not ok:
                self._open("a probe failed")
                return
            self._probe_successes += 1
            if self._probe_successes >= self._policy.probes:
                self._change("closed", f"{self._probe_successes} probes succeeded")
            return
        if ok is None:
            return
        self._window.add(_CALLS)
        if ok:
            return
        self._window.add(_FAILURES)
        calls, failures = self._window.total(_CALLS), self._window.total(_FAILURES)
        if calls >= self._policy.min_calls and failures >= self._policy.failure_ratio * calls:
            self._open(f"{failures} of the last {calls} calls failed")

    def _open(self, why: str) -> None:
        self._opened_at = self._clock()
        self._change("open", why)

    def _change(self, state: State, why: str) -> None:
        old, self.state = self.state, state
        self._generation += 1
        self._probes_running = 0
        self._probe_successes = 0
        self._window.clear()
        if self._listener is not None:
            self._listener(old, state, why)
