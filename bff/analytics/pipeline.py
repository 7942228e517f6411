"""Getting usage events from requests to a sink without ever slowing a request.

`record` only appends to a bounded in-memory queue: when the queue is full the
event is dropped and counted, never waited for. A background task sends the
queue to the sink in batches, when a batch fills up or a flush interval
passes; a sink that fails loses that batch (counted and logged), and the
task carries on. At shutdown the queue is flushed once more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable

from cachetools import TTLCache

from bff.analytics.events import Event
from bff.analytics.sinks import Sink

_log = logging.getLogger("bff.analytics")


class UsagePipeline:
    def __init__(
        self,
        sink: Sink,
        *,
        max_queue: int = 10_000,
        batch_size: int = 500,
        flush_interval_s: float = 1.0,
        count: Callable[[str, int], None] = lambda result, events: None,
    ) -> None:
        self._sink = sink
        self._max_queue = max_queue
        self._batch_size = batch_size
        self._flush_interval_s = flush_interval_s
        self._count = count
        self._queue: deque[Event] = deque()
        self._batch_ready = asyncio.Event()

    def record(self, event: Event) -> None:
        """Queue an event; drop it (and count the drop) when the queue is full."""
        if len(self._queue) >= self._max_queue:
            self._count("dropped", 1)
            return
        self._queue.append(event)
        if len(self._queue) >= self._batch_size:
            self._batch_ready.set()

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def run(self) -> None:
        """Flush batches until cancelled."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._batch_ready.wait(), self._flush_interval_s)
            self._batch_ready.clear()
            await self.flush()

    async def flush(self) -> None:
        """Send everything queued so far, batch by batch."""
        while self._queue:
            batch = [self._queue.popleft() for _ in range(min(self._batch_size, len(self._queue)))]
            try:
                await self._sink.write([event.to_json() for event in batch])
            except Exception as error:  # any sink failure must spare the server
                _log.warning(
                    "usage events lost: the sink failed (%s); %d events dropped",
                    type(error).__name__,
                    len(batch),
                )
                self._count("failed", len(batch))
            else:
                self._count("written", len(batch))


class ExposureLog:
    """Lets the first exposure of each caller to each variant through, once per window."""

    def __init__(self, window_s: float, *, max_entries: int = 200_000) -> None:
        self._seen: TTLCache[tuple[str, str, str], bool] = TTLCache(max_entries, window_s)

    def first(self, experiment: str, variant: str, unit: str) -> bool:
        key = (experiment, variant, unit)
        if key in self._seen:
            return False
        self._seen[key] = True
        return True
