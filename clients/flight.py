"""Request coalescing ("single flight"): concurrent identical reads share one call.

See docs/caching.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Hashable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from clients.cache import Freshness

_T = TypeVar("_T")
_V = TypeVar("_V", covariant=True)


@dataclass(frozen=True, slots=True)
class Outcome(Generic[_V]):
    """A read's value, how it may be reused, and whose identity it was read under."""

    value: _V
    freshness: Freshness
    caller: str | None

    def serves(self, caller: str | None) -> bool:
        """Private answers are only for the caller they were read for."""
        return not self.freshness.private or self.caller == caller


class InFlight(Generic[_T]):
    def __init__(self) -> None:
        self._tasks: dict[Hashable, asyncio.Task[_T]] = {}

    def find(self, key: Hashable) -> asyncio.Task[_T] | None:
        return self._tasks.get(key)

    def start(
        self, keys: Iterable[Hashable], call: Callable[[], Coroutine[object, object, _T]]
    ) -> asyncio.Task[_T]:
        """Run `call` once, findable under every key until it finishes."""
        task = asyncio.ensure_future(call())
        registered = list(keys)
        for key in registered:
            self._tasks[key] = task

        def finished(done: asyncio.Task[_T]) -> None:
            for key in registered:
                if self._tasks.get(key) is done:
                    del self._tasks[key]
            if not done.cancelled():
                done.exception()  # retrieved here, in case every caller gave up

        task.add_done_callback(finished)
        return task

    def __len__(self) -> int:
        return len(self._tasks)


async def join(task: asyncio.Task[_T]) -> _T:
    """Wait for a shared call without letting this caller's cancellation cancel it."""
    return await asyncio.shield(task)
