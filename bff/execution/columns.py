"""A field's values on every object of a level, some still being resolved by tasks.

Each coroutine runs in a task of its own; the column counts them down and wakes
its awaiter once (see docs/execution.md, Tasks).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from contextvars import Context
from typing import Any

Step = Coroutine[Any, Any, object]
ALL = -1
"""The index of a task that answers for every object (`Column.start_all`)."""


class Column:
    """One field's values on the objects of a level."""

    __slots__ = ("_done", "_loop", "_running", "failed", "values")

    def __init__(self, values: list[object], loop: asyncio.AbstractEventLoop) -> None:
        self.values = values
        """Each object's value; a task's place holds its outcome once it ends."""
        self.failed = False
        """Whether a task ended with an exception (left in its place in `values`)."""
        self._running: dict[int, asyncio.Task[object]] = {}
        self._done: asyncio.Future[None] | None = None
        self._loop = loop

    def start(self, index: int, coroutine: Step, context: Context) -> None:
        """Resolve object `index` with `coroutine`, in a task run in `context`."""
        task = self._loop.create_task(coroutine, context=context)
        self._running[index] = task
        task.add_done_callback(lambda done: self._end(index, done))

    def start_all(self, coroutine: Step, context: Context) -> None:
        """Resolve every object with one coroutine that answers with a list."""
        self.start(ALL, coroutine, context)

    @property
    def pending(self) -> bool:
        return bool(self._running)

    async def settled(self) -> None:
        """Wait until every task has ended; failures are in `values`."""
        if not self._running:
            return
        self._done = self._loop.create_future()
        try:
            await self._done
        except asyncio.CancelledError:
            for task in self._running.values():
                task.cancel()
            raise

    def _end(self, index: int, task: asyncio.Task[object]) -> None:
        del self._running[index]
        outcome: object
        if task.cancelled():
            outcome = asyncio.CancelledError()
        else:
            outcome = task.exception() or task.result()
        if isinstance(outcome, BaseException):
            self.failed = True
        if index != ALL:
            self.values[index] = outcome
        elif isinstance(outcome, list) and len(outcome) == len(self.values):
            self.values[:] = outcome
            self.failed = self.failed or any(isinstance(each, BaseException) for each in outcome)
        else:
            self.failed = True
            if not isinstance(outcome, BaseException):
                count = len(self.values)
                outcome = RuntimeError(f"a batch resolver gave {count} objects {outcome!r}")
            self.values[:] = [outcome] * len(self.values)
        if not self._running and self._done is not None and not self._done.done():
            self._done.set_result(None)
