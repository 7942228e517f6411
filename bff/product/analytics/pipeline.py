"""Getting usage from requests to a sink without ever slowing a request.

See docs/usage.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from bff.product.analytics.aggregates import Aggregates
from bff.product.analytics.events import Event, JsonObject
from bff.product.analytics.sinks import DEFAULTS, Sink

_log = logging.getLogger("bff.product.analytics")

Claim = Callable[[Sequence[Event]], Awaitable[list[Event]]]
"""Filters a batch before it is written (`SharedExposures.claim`)."""


class UsagePipeline:
    def __init__(
        self,
        sink: Sink,
        *,
        max_queue: int = DEFAULTS.usage_queue,
        batch_size: int = DEFAULTS.usage_batch,
        flush_interval_s: float = DEFAULTS.usage_flush_s,
        report_interval_s: float = DEFAULTS.usage_interval_s,
        sample: float = 0.0,
        max_tallies: int = 10_000,
        claim: Claim | None = None,
        count: Callable[[str, int], None] = lambda result, events: None,
        wall_clock: Callable[[], float] = time.time,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self._sink = sink
        self._max_queue = max_queue
        self._batch_size = batch_size
        self._flush_interval_s = flush_interval_s
        self._report_interval_s = report_interval_s
        self._sample = sample
        self._claim = claim
        self._count = count
        self._wall_clock = wall_clock
        self._draw = draw
        self._queue: deque[Event] = deque()
        self._wake = asyncio.Event()
        self._closing = False
        self._aggregates = Aggregates(wall_clock(), max_tallies=max_tallies, on_full=self._wake.set)
        self.tally = self._aggregates.add
        """Count one operation in the interval's aggregates."""

    def sampled(self) -> bool:
        """Should this operation also be kept as a raw event?"""
        return self._sample > 0.0 and self._draw() < self._sample

    def record(self, event: Event) -> None:
        """Queue a raw event; drop it (and count the drop) when the queue is full."""
        if len(self._queue) >= self._max_queue:
            self._count("dropped", 1)
            return
        self._queue.append(event)
        if len(self._queue) >= self._batch_size:
            self._wake.set()

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def run(self) -> None:
        """Write raw events and reports until `close`, then everything still held."""
        loop = asyncio.get_running_loop()
        report_at = loop.time() + self._report_interval_s
        while not self._closing:
            wait_s = min(self._flush_interval_s, max(0.0, report_at - loop.time()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait_s)
            self._wake.clear()
            await self._flush_events()
            if self._aggregates.full or loop.time() >= report_at:
                await self._report()
                report_at = loop.time() + self._report_interval_s
        await self.flush()

    def close(self) -> None:
        """Make `run` write what it holds and return, at shutdown.

        Cancelling it instead could cut a write short, and with it an
        interval's report.
        """
        self._closing = True
        self._wake.set()

    async def flush(self) -> None:
        """Send every queued event and the interval's report."""
        await self._flush_events()
        await self._report()

    async def _flush_events(self) -> None:
        while self._queue:
            batch = [self._queue.popleft() for _ in range(min(self._batch_size, len(self._queue)))]
            if self._claim is not None:
                batch = await self._claim(batch)
            await self._write([event.to_json() for event in batch])

    async def _report(self) -> None:
        record = self._aggregates.report(self._wall_clock())
        if record is not None:
            await self._write([record])

    async def _write(self, records: list[JsonObject]) -> None:
        if not records:
            return
        try:
            await self._sink.write(records)
        except Exception as error:  # any sink failure must spare the server
            _log.warning(
                "usage records lost: the sink failed (%s); %d records dropped",
                type(error).__name__,
                len(records),
            )
            self._count("failed", len(records))
        else:
            self._count("written", len(records))
