"""When a failed downstream call is tried again, and how long to wait first.

See docs/resilience.md, Retries.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from clients.window import SlidingCounts

RETRYABLE_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 3
    """Tries in all, the first included; 1 turns retries off."""
    base_delay_s: float = 0.025
    """Ceiling of the first wait; each later ceiling doubles."""
    max_delay_s: float = 0.5
    """Largest ceiling of a jittered wait (a `Retry-After` may ask for longer)."""

    def backoff(self, retry: int, rng: random.Random) -> float:
        """The wait before retry number `retry` (1 for the first): full jitter."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (retry - 1))
        return rng.uniform(0, ceiling)


def retry_after(header: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds a `Retry-After` header asks to wait (delta-seconds or HTTP date)."""
    if not header:
        return None
    header = header.strip()
    try:
        # Whole seconds, as HTTP says; fractions are accepted too.
        seconds = float(header)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 and math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now())


@dataclass(frozen=True, slots=True)
class BudgetPolicy:
    ratio: float = 0.1
    """Extra attempts allowed per first attempt, over the window."""
    min_per_s: float = 1.0
    """Extra attempts always allowed per second, so that quiet services can retry."""
    window_s: int = 10


class RetryBudget:
    """Counts first attempts and extra ones over a sliding window of seconds."""

    _CALLS = 0
    _EXTRA = 1

    def __init__(self, policy: BudgetPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self._policy = policy
        self._counts = SlidingCounts(policy.window_s, 2, clock)

    def deposit(self) -> None:
        """A first attempt was made."""
        self._counts.add(self._CALLS)

    def withdraw(self) -> bool:
        """Take one extra attempt from the budget; False when it is spent."""
        policy = self._policy
        allowed = policy.ratio * self._counts.total(self._CALLS) + policy.min_per_s * max(
            1, policy.window_s
        )
        if self._counts.total(self._EXTRA) + 1 > math.floor(allowed):
            return False
        self._counts.add(self._EXTRA)
        return True
