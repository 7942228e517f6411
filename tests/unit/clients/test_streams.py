"""Server-Sent Event streams: the format, the headers, reconnecting without repeats."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator

import httpx
import orjson
import pytest
from starlette.types import Receive, Scope, Send

from clients.errors import BadResponse, NotFound, Overloaded, Timeout, Unavailable
from clients.http import CallScope, ServiceConfig, open_http
from clients.orders import OrderRecord, OrdersClient
from clients.retry import RetryPolicy
from clients.sse import EventParser, ServerSentEvent
from clients.streams import EventStreams, StreamSlots
from clients.wire import Outgoing, Streaming, WireTimeout
from tests.served import serving

CONFIG = ServiceConfig(base_url="http://orders.internal:8105")
QUICK = RetryPolicy(attempts=3, base_delay_s=0.001, max_delay_s=0.001)
SCOPE = CallScope(request_id="req-7", caller_id="u1", authorization="Bearer token-of-u1")

Handler = Callable[[httpx.Request], httpx.Response]


def order(status: str) -> bytes:
    document = {
        "id": "o7",
        "userId": "u1",
        "status": status,
        "createdAt": "2024-05-06T07:08:09Z",
        "lines": [{"productId": "p1", "quantity": 2, "unitPriceCents": 1250}],
        "totalCents": 2500,
        "currency": "EUR",
    }
    return b"data: " + orjson.dumps(document) + b"\n\n"


def stream(*events: bytes) -> httpx.Response:
    return httpx.Response(
        200, headers={"content-type": "text/event-stream"}, content=b"".join(events)
    )


def replies(*answers: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    """A handler giving `answers` in turn, and the requests it saw."""
    seen: list[httpx.Request] = []
    pending: Iterator[httpx.Response | Exception] = iter(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = next(pending)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handler, seen


def streams(handler: Handler, slots: StreamSlots | None = None) -> EventStreams:
    http = open_http(CONFIG, httpx.MockTransport(handler), streaming=True)
    return EventStreams("orders", http, slots=slots, reconnect=QUICK, rng=random.Random(7))


def orders_of(events: EventStreams, *, seen: tuple[str, ...] = ()) -> AsyncGenerator[OrderRecord]:
    return events.records(
        SCOPE,
        "/orders/o7/events",
        "/orders/{id}/events",
        OrderRecord.from_json,
        key=lambda record: record.status,
        seen=seen,
    )


async def statuses(events: EventStreams, *, seen: tuple[str, ...] = ()) -> list[str]:
    records = orders_of(events, seen=seen)
    found: list[str] = []
    async for record in records:
        found.append(record.status)
        if record.status == "delivered":
            break
    await records.aclose()
    return found


def test_the_parser_follows_the_event_stream_format() -> None:
    parser = EventParser()
    lines = [
        ": a comment, as keep-alives are",
        "retry: 1500",
        "id: 41",
        "event: status",
        "data: first line",
        "data:second line",
        "",
        "",  # a blank line with no data dispatches nothing
        "data: third",
        "",
    ]

    events = [event for line in lines if (event := parser.feed(line)) is not None]

    assert events == [
        ServerSentEvent("first line\nsecond line", "status", "41", 1.5),
        ServerSentEvent("third", "message", "41", 1.5),
    ]


async def test_an_orders_event_stream_becomes_records_sent_with_the_calls_headers() -> None:
    handler, seen = replies(stream(order("placed"), order("paid"), b": keep-alive\n\n"))
    client = OrdersClient(
        "orders",
        open_http(CONFIG, httpx.MockTransport(handler)),
        CONFIG,
        streams=open_http(CONFIG, httpx.MockTransport(handler), streaming=True),
    ).scoped(SCOPE)

    watched = client.watch_order("o7", seen=["placed"])
    first = await anext(watched)
    await watched.aclose()

    assert first.status == "paid"
    assert first.total_cents == 2500
    request = seen[0]
    assert str(request.url) == "http://orders.internal:8105/orders/o7/events"
    assert request.headers["accept"] == "text/event-stream"
    assert request.headers["x-request-id"] == "req-7"
    assert request.headers["authorization"] == "Bearer token-of-u1"
    assert request.extensions["route"] == "/orders/{id}/events"


async def test_a_stream_that_drops_is_reopened_without_repeating_a_status() -> None:
    handler, seen = replies(
        stream(order("placed"), b"id: 2\n" + order("paid")),
        httpx.ConnectError("refused"),
        stream(order("paid"), order("shipped"), order("delivered")),
    )

    found = await statuses(streams(handler))

    assert found == ["placed", "paid", "shipped", "delivered"]
    assert len(seen) == 3
    assert "last-event-id" not in seen[0].headers
    assert seen[2].headers["last-event-id"] == "2"


async def test_reopening_gives_up_after_failures_in_a_row() -> None:
    handler, seen = replies(
        stream(order("placed")),
        stream(order("placed")),  # no news: the stream keeps failing
        httpx.ReadError("reset"),
    )

    with pytest.raises(Unavailable) as raised:
        await statuses(streams(handler))

    assert raised.value.code == "DOWNSTREAM_UNAVAILABLE"
    assert len(seen) == QUICK.attempts


async def test_a_server_error_is_retried_but_a_missing_order_is_not() -> None:
    handler, seen = replies(httpx.Response(503), stream(order("delivered")))
    assert await statuses(streams(handler)) == ["delivered"]
    assert len(seen) == 2

    handler, seen = replies(httpx.Response(404, json={"error": {"code": "not_found"}}))
    with pytest.raises(NotFound):
        await statuses(streams(handler))
    assert len(seen) == 1


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, json={"id": "o7"}),  # not an event stream
        stream(b"data: not json\n\n"),
        stream(b'data: {"id": "o7"}\n\n'),  # not an order
    ],
)
async def test_answers_outside_the_contract_are_bad_responses(answer: httpx.Response) -> None:
    handler, seen = replies(answer)

    with pytest.raises(BadResponse):
        await statuses(streams(handler))
    assert len(seen) == 1


async def test_the_network_wire_gives_up_on_a_stream_gone_silent_past_its_idle_timeout() -> None:
    released = asyncio.Event()

    async def quiet_after_one_event(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": order("placed"), "more_body": True})
        await released.wait()
        await send({"type": "http.response.body", "body": b""})

    lines: list[str] = []

    async def read(reply: Streaming) -> None:
        async for line in reply.lines():
            lines.append(line)

    async with serving({"orders": quiet_after_one_event}) as served:
        config = ServiceConfig(base_url=served["orders"].url, stream_idle_timeout_s=0.2)
        wire = open_http(config, streaming=True)
        try:
            async with wire.stream(Outgoing("GET", "/orders/o7/events", "events")) as reply:
                with pytest.raises(WireTimeout):
                    await read(reply)
        finally:
            released.set()
            await wire.aclose()

    # The event before the silence came through; the silence ended the stream.
    assert lines[0].startswith("data: ")


async def silent_after(*events: bytes) -> AsyncIterator[bytes]:
    """A stream body that sends `events`, then goes silent past the read timeout."""
    for event in events:
        yield event
    raise httpx.ReadTimeout("nothing read")


async def test_a_stream_gone_silent_is_reopened_without_repeating_a_status() -> None:
    silent = httpx.Response(
        200, headers={"content-type": "text/event-stream"}, content=silent_after(order("placed"))
    )
    handler, seen = replies(silent, stream(order("placed"), order("paid"), order("delivered")))

    found = await statuses(streams(handler))

    assert found == ["placed", "paid", "delivered"]
    assert len(seen) == 2


async def test_a_stream_that_keeps_going_silent_ends_with_a_timeout() -> None:
    def silent() -> httpx.Response:
        body = silent_after(order("placed"))
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    handler, seen = replies(*(silent() for _ in range(QUICK.attempts)))

    with pytest.raises(Timeout) as raised:
        await statuses(streams(handler))

    assert raised.value.message == "orders went silent on its event stream"
    assert len(seen) == QUICK.attempts


async def test_a_reader_that_finds_every_stream_slot_taken_is_refused_at_once() -> None:
    refusals: list[str] = []
    slots = StreamSlots(1, refused=lambda: refusals.append("event_streams"))
    handler, seen = replies(stream(order("placed")), stream(order("delivered")))
    events = streams(handler, slots)

    first = orders_of(events)
    assert (await anext(first)).status == "placed"
    with pytest.raises(Overloaded) as raised:
        await anext(orders_of(events))
    assert raised.value.code == "SERVICE_OVERLOADED"
    assert (slots.open, len(seen), refusals) == (1, 1, ["event_streams"])

    await first.aclose()
    assert slots.open == 0
    assert await statuses(events) == ["delivered"]
    assert slots.open == 0
