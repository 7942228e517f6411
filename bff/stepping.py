"""Resolver coroutines run without a task each: started at once, resumed by callbacks.

A field of a list of fifty products calls its resolver fifty times. Wrapping
each call in a task (and gathering them) costs a task object and three
event-loop callbacks per call; for a `CategoryListing` that was about a
thousand callbacks per request. A `Column` instead runs each coroutine's
first step at once, in a context of its own (so `FIELD_PATH` is its field's
own, as a task's would be): a coroutine whose loads are already memoised
finishes there and then, and one waiting on a loader's future is resumed by
that future's callback, one callback per wait. Every load of a level is
still made in the same tick, so loaders batch them as before.

The semantics are a task's: a value or an exception per coroutine, a `None`
yield (`asyncio.sleep(0)`) reschedules, and `cancel()` throws
`CancelledError` into every coroutine still running, which may clean up
(and await) before it ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from contextvars import Context
from typing import Any

Step = Coroutine[Any, Any, object]
ALL = -1
"""The index of a coroutine that answers for every object (`Column.start_all`)."""


class Column:
    """The values of one field on the objects of a level, some still being resolved."""

    __slots__ = ("_done", "_loop", "_running", "failed", "values")

    def __init__(self, values: list[object]) -> None:
        self.values = values
        """Each object's value; a coroutine's place holds its outcome once it ends."""
        self.failed = False
        """Whether a coroutine ended with an exception (left in its place in `values`)."""
        self._running: dict[int, tuple[Step, Context]] = {}
        self._done: asyncio.Future[None] | None = None
        self._loop = asyncio.get_running_loop()

    def start(self, index: int, coroutine: Step, context: Context) -> None:
        """Run `coroutine` for object `index` up to its first wait, in `context`."""
        self._running[index] = (coroutine, context)
        self._step(index, None)

    def start_all(self, coroutine: Step, context: Context) -> None:
        """Run a coroutine that answers for every object at once: a list, one per object,
        each a value or the exception that failed it."""
        self.start(ALL, coroutine, context)

    @property
    def pending(self) -> bool:
        return bool(self._running)

    async def settled(self) -> None:
        """Wait until every coroutine has ended; failures are in `values`."""
        if not self._running:
            return
        self._done = self._loop.create_future()
        try:
            await self._done
        except asyncio.CancelledError:
            self.cancel()
            raise

    def cancel(self) -> None:
        for index in list(self._running):
            self._step(index, asyncio.CancelledError())

    def _step(self, index: int, thrown: BaseException | None) -> None:
        running = self._running.get(index)
        if running is None:
            return
        coroutine, context = running
        try:
            if thrown is None:
                awaited = context.run(coroutine.send, None)
            else:
                awaited = context.run(coroutine.throw, thrown)
        except StopIteration as finished:
            self._end(index, finished.value)
            return
        except BaseException as error:  # the resolver's failure, or its cancellation
            self.failed = True
            self._end(index, error)
            return
        # Callbacks come back to `_step`, which enters the coroutine's context itself.
        if awaited is None:  # a bare yield: run again on the next tick
            self._loop.call_soon(self._step, index, None)
        elif getattr(awaited, "_asyncio_future_blocking", None):
            awaited._asyncio_future_blocking = False
            awaited.add_done_callback(lambda _: self._step(index, None))
        else:
            wrong = RuntimeError(f"a resolver awaited {awaited!r}, which is not a future")
            self._loop.call_soon(self._step, index, wrong)

    def _end(self, index: int, outcome: object) -> None:
        del self._running[index]
        if index != ALL:
            self.values[index] = outcome
        elif isinstance(outcome, list) and len(outcome) == len(self.values):
            self.values[:] = outcome
            self.failed = self.failed or any(isinstance(each, BaseException) for each in outcome)
        else:
            self.failed = True
            if not isinstance(outcome, BaseException):
                outcome = RuntimeError(
                    f"a batch resolver gave {len(self.values)} objects {outcome!r}"
                )
            self.values[:] = [outcome] * len(self.values)
        if not self._running and self._done is not None and not self._done.done():
            self._done.set_result(None)
