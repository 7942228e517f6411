"""Caps on what subscriptions hold open downstream, and streams that go silent."""

from __future__ import annotations

import pytest

from bff.settings import Settings
from demo.orders import HEARTBEAT_S
from tests.harness import Json, sample
from tests.sockets import Socket, eventually, subscribable_bff
from tests.test_subscriptions import ORDER_STATUS, codes_of, status_of

pytestmark = pytest.mark.e2e


async def follow(socket: Socket, operation: str, order_id: str) -> Json:
    """Subscribe to the order under `operation`; the first reply."""
    await socket.subscribe(operation, ORDER_STATUS, order_id)
    return await socket.receive()


async def test_event_streams_are_capped_and_the_rest_end_with_a_coded_error() -> None:
    async with (
        subscribable_bff({"BFF_MAX_EVENT_STREAMS": "2"}) as stack,
        stack.socket() as socket,
    ):
        order_id = await stack.place_order("u1")
        await socket.initialise("u1")
        for operation in "123456":
            await socket.subscribe(operation, ORDER_STATUS, order_id)
        replies: dict[str, list[Json]] = {operation: [] for operation in "123456"}
        while sum(len(sent) for sent in replies.values()) < 6 + 4 * 2:
            message = await socket.receive()
            replies[message["id"]].append(message)
        await eventually(lambda: stack.streams_open() == 2)
        samples = await stack.http.metrics()
        stack.step()
        following = [operation for operation, sent in replies.items() if len(sent) == 1]
        moved = [await socket.receive() for _ in following]

    ended = [sent for sent in replies.values() if len(sent) == 3]
    assert len(following) == 2
    assert len(ended) == 4
    for placed, failed, done in ended:
        assert status_of(placed) == "PLACED"
        assert codes_of(failed) == ["SERVICE_OVERLOADED"]
        assert done == {"type": "complete", "id": placed["id"]}
    assert sorted(message["id"] for message in moved) == following
    assert [status_of(message) for message in moved] == ["PAID", "PAID"]
    assert stack.streams_opened() == 2
    assert sample(samples, "bff_event_streams_open") == 2
    assert sample(samples, "bff_websocket_refusals_total", reason="event_streams") == 4


async def test_a_silent_event_stream_is_reopened() -> None:
    # The orders service sends no keep-alives here, and its statuses move only when
    # the test steps the clock: until then the stream says nothing at all.
    env = {"BFF_DOWNSTREAM_STREAM_IDLE_TIMEOUT_MS": "300"}
    async with subscribable_bff(env, heartbeat_s=None) as stack, stack.socket() as socket:
        await socket.initialise("u1")
        first = await follow(socket, "1", await stack.place_order("u1"))
        await eventually(lambda: stack.streams_opened() >= 2)
        stack.step()
        second = await socket.receive()

    assert [status_of(first), status_of(second)] == ["PLACED", "PAID"]


def test_the_default_idle_timeout_outlasts_the_demo_services_keep_alives() -> None:
    idle_s = Settings.from_environ({}).services["orders"].stream_idle_timeout_s

    assert idle_s >= 3 * HEARTBEAT_S
