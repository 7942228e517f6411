"""A hang that ends on cue: requests held at a service's gate until a test lets them go.

The timed faults (`latency_ms`, `hang_rate`) say how long a request waits; a test
that needs a request to be waiting *while* something else happens would have to
guess a duration long enough on a busy machine. A `Hold` removes the guess:

    service.faults.hold.catch(2)      # the next two requests will wait
    ...                               # start them
    await service.faults.hold.caught(2)   # both are inside the service now
    ...                               # whatever must happen meanwhile
    await service.faults.hold.release()   # let them be answered

A held request has been counted in the service's stats. One whose caller gives
up is cancelled like any other. In-process only: the admin API does not reach it.
"""

import asyncio


class Hold:
    def __init__(self) -> None:
        self._to_catch = 0
        self._held = 0
        self._releases = 0
        # Made on first use, inside the event loop that uses it.
        self._condition: asyncio.Condition | None = None

    def catch(self, count: int = 1) -> None:
        """Hold the next `count` requests (on top of any still to be caught)."""
        self._to_catch += count

    async def caught(self, count: int = 1) -> None:
        """Return once `count` requests are held."""
        condition = self._changes()
        async with condition:
            await condition.wait_for(lambda: self._held >= count)

    async def release(self) -> None:
        """Let every held request go on, and catch no more."""
        self._to_catch = 0
        condition = self._changes()
        async with condition:
            self._releases += 1
            condition.notify_all()

    async def enter(self) -> None:
        """Called by the gate for each request: returns at once unless it is caught."""
        if not self._to_catch:
            return
        self._to_catch -= 1
        condition = self._changes()
        async with condition:
            release = self._releases
            self._held += 1
            condition.notify_all()
            try:
                await condition.wait_for(lambda: self._releases != release)
            finally:
                self._held -= 1

    def _changes(self) -> asyncio.Condition:
        if self._condition is None:
            self._condition = asyncio.Condition()
        return self._condition
