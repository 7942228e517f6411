"""Records pushed by a downstream service as Server-Sent Events, on a pool of their own.

See docs/subscriptions.md, Where the events come from.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator, Callable, Hashable, Iterable, Iterator
from contextlib import aclosing, contextmanager
from typing import TypeVar

import orjson

from clients.decoding import JsonObject, RecordError
from clients.errors import (
    BadResponse,
    DownstreamError,
    NotFound,
    Overloaded,
    Rejected,
    Timeout,
    Unavailable,
)
from clients.http import CallScope
from clients.retry import RetryPolicy
from clients.sse import EventParser, ServerSentEvent
from clients.wire import Outgoing, Streaming, Wire, WireBroken, WireTimeout

RECONNECT = RetryPolicy(attempts=4, base_delay_s=0.1, max_delay_s=2.0)
"""Connections in a row that may fail to bring a new record, and the waits between."""
MAX_RETRY_S = 30.0
"""The longest wait a stream's own `retry:` may ask for."""

_T = TypeVar("_T")


class StreamSlots:
    """How many event streams may be open at once, and how many are; one per process."""

    def __init__(self, limit: int | None = None, *, refused: Callable[[], None] = lambda: None):
        self.limit = limit
        """None: no cap."""
        self.open = 0
        self._refused = refused

    @contextmanager
    def slot(self, service: str) -> Iterator[None]:
        """Hold a slot for the block; `Overloaded` at once when none is free."""
        if self.limit is not None and self.open >= self.limit:
            self._refused()
            raise Overloaded(
                service, f"Too many event streams are open to follow {service}: retry later."
            )
        self.open += 1
        try:
            yield
        finally:
            self.open -= 1


class EventStreams:
    """Streams of one service, on its streaming client."""

    def __init__(
        self,
        service: str,
        wire: Wire,
        *,
        forward_authorization: bool = True,
        slots: StreamSlots | None = None,
        reconnect: RetryPolicy = RECONNECT,
        rng: random.Random | None = None,
    ) -> None:
        self.service = service
        self._wire = wire
        self._forward_authorization = forward_authorization
        self._slots = slots or StreamSlots()
        self._reconnect = reconnect
        self._rng = rng or random.Random()

    async def aclose(self) -> None:
        await self._wire.aclose()

    async def records(
        self,
        scope: CallScope,
        url: str,
        route: str,
        parse: Callable[[JsonObject], _T],
        key: Callable[[_T], Hashable],
        *,
        seen: Iterable[Hashable] = (),
    ) -> AsyncGenerator[_T]:
        """Each new record of the stream at `url`, in order, until the reader stops.

        A record whose key is in `seen`, or was delivered before, is skipped.
        The reader holds one of the process's stream slots until it stops,
        reconnections included. Raises `Overloaded` when no slot is free, and
        `NotFound`, `Rejected` or `BadResponse`, at once; `Unavailable` or
        `Timeout` once reconnecting has failed `RECONNECT.attempts` times in a
        row.
        """
        delivered = set(seen)
        failures = 0
        last_id: str | None = None
        asked_s: float | None = None
        with self._slots.slot(self.service):
            while True:
                failure: DownstreamError
                try:
                    async with aclosing(self._events(scope, url, route, last_id)) as events:
                        async for event in events:
                            last_id, asked_s = event.id, event.retry_s
                            record = self._parse(event, parse)
                            if key(record) in delivered:
                                continue
                            delivered.add(key(record))
                            failures = 0
                            yield record
                    failure = Unavailable(
                        self.service, f"{self.service} ended its event stream early"
                    )
                except (Unavailable, Timeout) as broken:
                    failure = broken
                failures += 1
                if failures >= self._reconnect.attempts:
                    raise failure
                wait = self._reconnect.backoff(failures, self._rng)
                await asyncio.sleep(max(wait, min(asked_s or 0.0, MAX_RETRY_S)))

    async def _events(
        self, scope: CallScope, url: str, route: str, last_id: str | None
    ) -> AsyncGenerator[ServerSentEvent]:
        """The events of one connection; transport failures become `DownstreamError`s."""
        headers = {"accept": "text/event-stream", "cache-control": "no-cache"}
        if scope.request_id is not None:
            headers["x-request-id"] = scope.request_id
        if self._forward_authorization and scope.authorization is not None:
            headers["authorization"] = scope.authorization
        if last_id:
            headers["last-event-id"] = last_id
        opened = False
        try:
            async with self._wire.stream(Outgoing("GET", url, route, headers=headers)) as response:
                opened = True
                self._check(response)
                parser = EventParser()
                async for line in response.lines():
                    event = parser.feed(line)
                    if event is not None:
                        yield event
        except WireTimeout as error:
            message = (
                f"{self.service} went silent on its event stream"
                if opened
                else f"{self.service} did not open its event stream in time"
            )
            raise Timeout(self.service, message) from error
        except WireBroken as error:
            raise Unavailable(self.service, f"{self.service} is unavailable") from error

    def _check(self, response: Streaming) -> None:
        status = response.status
        if status == 404:
            raise NotFound(self.service, "not found")
        if status in (400, 422):
            raise Rejected(self.service, f"{self.service} refused the input")
        if status == 504:
            raise Timeout(self.service, f"{self.service} did not answer in time (HTTP 504)")
        if status >= 500:
            raise Unavailable(self.service, f"{self.service} is unavailable (HTTP {status})")
        content_type = response.headers.get("content-type", "")
        if status != 200 or not content_type.startswith("text/event-stream"):
            raise BadResponse(self.service, f"{self.service} answered without an event stream")

    def _parse(self, event: ServerSentEvent, parse: Callable[[JsonObject], _T]) -> _T:
        try:
            decoded = orjson.loads(event.data)
            if not isinstance(decoded, dict):
                raise RecordError("an event must hold a JSON object")
            return parse(decoded)
        except (orjson.JSONDecodeError, RecordError) as error:
            raise BadResponse(self.service, f"{self.service} sent an unexpected event") from error
