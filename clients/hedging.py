"""Hedged reads: ask again when an answer is late, and take whichever comes first.

See docs/resilience.md, Hedging.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HedgePolicy:
    enabled: bool = True
    percentile: float = 0.95
    min_delay_s: float = 0.02
    """Never hedge sooner than this, however fast the route usually is."""
    min_samples: int = 50
    """Answers a route must have seen before its latency is trusted."""


class LatencyTracker:
    """Recent latencies of one route's successful calls, and the hedge delay they imply."""

    SIZE = 512
    """Latencies kept; older ones are overwritten."""
    REFRESH = 64
    """New samples between recomputations of the percentile."""

    def __init__(self, policy: HedgePolicy) -> None:
        self._policy = policy
        self._samples: list[float] = []
        self._next = 0
        self._since_refresh = 0
        self._delay: float | None = None

    def observe(self, seconds: float) -> None:
        if len(self._samples) < self.SIZE:
            self._samples.append(seconds)
        else:
            self._samples[self._next] = seconds
            self._next = (self._next + 1) % self.SIZE
        self._since_refresh += 1
        if self._since_refresh >= self.REFRESH or (
            self._delay is None and len(self._samples) >= self._policy.min_samples
        ):
            self._refresh()

    def delay(self) -> float | None:
        """How long to wait before hedging; None while hedging is off or unproven."""
        return self._delay

    def _refresh(self) -> None:
        self._since_refresh = 0
        if not self._policy.enabled or len(self._samples) < self._policy.min_samples:
            return
        ordered = sorted(self._samples)
        index = min(len(ordered) - 1, int(len(ordered) * self._policy.percentile))
        self._delay = max(self._policy.min_delay_s, ordered[index])
