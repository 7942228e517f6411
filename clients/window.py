"""Counters over a sliding window of whole seconds (retry budgets, circuit breakers)."""

from __future__ import annotations

import time
from collections.abc import Callable


class SlidingCounts:
    """`columns` counters summed over the last `seconds` seconds, one slot per second."""

    def __init__(
        self, seconds: int, columns: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self._size = max(1, seconds)
        self._columns = columns
        self.clear()

    def clear(self) -> None:
        self._seconds = [-1] * self._size
        self._counts = [[0] * self._columns for _ in range(self._size)]

    def add(self, column: int, amount: int = 1) -> None:
        second = int(self._clock())
        slot = second % self._size
        if self._seconds[slot] != second:
            self._seconds[slot] = second
            self._counts[slot] = [0] * self._columns
        self._counts[slot][column] += amount

    def total(self, column: int) -> int:
        """The column's sum over slots still inside the window."""
        second = int(self._clock())
        return sum(
            counts[column]
            for seen, counts in zip(self._seconds, self._counts, strict=True)
            if seen != -1 and second - seen < self._size
        )
