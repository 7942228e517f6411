"""Subscriptions over WebSocket, end to end: a real client, a served BFF, the demo services.

The orders service streams each order's status as Server-Sent Events; the
tests step its clock, so every status change comes when they say.
"""

from __future__ import annotations

import pytest

from bff.contract.examples import ORDER_STATUS as FOLLOW_EXAMPLE
from bff.contract.examples import PLACE_ORDER
from bff.ws.sessions import oversized
from tests.harness import Json, sample, signed_in
from tests.sockets import Socket, Stack, eventually, subscribable_bff

pytestmark = pytest.mark.e2e

ORDER_STATUS = """subscription OrderStatus($orderId: ID!) {
  orderStatus(orderId: $orderId) {
    id
    status
    total { amount currency }
    lines { quantity product { name } }
    user { name }
  }
}"""


def status_of(message: dict[str, object]) -> str:
    payload = message["payload"]
    assert isinstance(payload, dict), message
    data = payload["data"]
    assert isinstance(data, dict), message
    order = data["orderStatus"]
    assert isinstance(order, dict), message
    return str(order["status"])


def codes_of(message: dict[str, object]) -> list[str]:
    errors = message["payload"]
    if isinstance(errors, dict):
        errors = errors["errors"]
    assert isinstance(errors, list), message
    return [error["extensions"]["code"] for error in errors]


async def follow_new_order(
    stack: Stack, socket: Socket, user_id: str | None = "u1"
) -> tuple[str, Json]:
    """Place an order for u1 and follow it as `user_id` under id "1"; its id, the first reply."""
    order_id = await stack.place_order("u1")
    await socket.initialise(user_id)
    await socket.subscribe("1", ORDER_STATUS, order_id)
    return order_id, await socket.receive()


async def follow(stack: Stack, socket: Socket, operation: str, *, data: str = "next") -> list[str]:
    """Statuses received for `operation`, stepping the clock after each, until it completes."""
    statuses: list[str] = []
    while True:
        message = await socket.receive()
        if message["type"] == "complete":
            assert message == {"type": "complete", "id": operation}
            return statuses
        assert message["type"] == data, message
        assert message["id"] == operation
        statuses.append(status_of(message))
        stack.step()


async def test_order_status_sends_the_order_then_each_change_then_completes() -> None:
    async with subscribable_bff() as stack, stack.socket() as socket:
        order_id = await stack.place_order("u1")
        sent = await socket.initialise("u1")
        await socket.subscribe("1", ORDER_STATUS, order_id)

        first = await socket.receive()
        stack.step()
        statuses = [status_of(first), *await follow(stack, socket, "1")]
        await eventually(lambda: stack.streams_open() == 0)
        samples = await stack.http.metrics()
        streams = [
            request
            for request in stack.demo["orders"].stats.recent()
            if request.route == "GET /orders/{id}/events"
        ]

    assert statuses == ["PLACED", "PAID", "SHIPPED", "DELIVERED"]
    order = first["payload"]["data"]["orderStatus"]
    assert order["id"] == order_id
    assert order["total"]["currency"] == "EUR"
    assert order["total"]["amount"] > 0
    assert order["lines"][0]["product"]["name"]
    assert order["user"] == {"name": "Ada Lovelace"}
    assert "errors" not in first["payload"]
    # One stream, carrying the caller's token, the request id and the trace context.
    assert len(streams) == 1
    assert streams[0].headers["authorization"] == sent["Authorization"]
    assert streams[0].headers["x-request-id"]
    assert streams[0].headers["traceparent"]
    assert sample(samples, "bff_subscriptions_total", outcome="completed") == 1
    assert sample(samples, "bff_subscriptions_active") == 0


async def test_the_legacy_graphql_ws_protocol_is_served_as_a_dialect() -> None:
    async with subscribable_bff() as stack, stack.socket(["graphql-ws"]) as socket:
        order_id = await stack.place_order("u1")
        assert socket.connection.subprotocol == "graphql-ws"
        await socket.initialise("u1")
        assert await socket.receive() == {"type": "ka"}
        await socket.subscribe("a", ORDER_STATUS, order_id, kind="start")

        statuses = await follow(stack, socket, "a", data="data")
        await socket.send({"type": "connection_terminate"})
        closed = await socket.closed()

    assert statuses == ["PLACED", "PAID", "SHIPPED", "DELIVERED"]
    assert closed == (1000, "Normal closure")


async def test_an_anonymous_socket_may_connect_but_not_follow_an_order() -> None:
    async with subscribable_bff() as stack, stack.socket() as socket:
        _, refused = await follow_new_order(stack, socket, None)
        await socket.send({"type": "ping"})
        pong = await socket.receive()

    assert refused["type"] == "error"
    assert refused["id"] == "1"
    assert codes_of(refused) == ["UNAUTHENTICATED"]
    assert refused["payload"][0]["path"] == ["orderStatus"]
    assert pong == {"type": "pong"}  # the socket lives on


async def test_another_users_order_is_refused_as_the_order_query_refuses_it() -> None:
    async with subscribable_bff() as stack:
        order_id = await stack.place_order("u1")
        async with stack.socket() as socket:
            await socket.initialise("u2")
            await socket.subscribe("1", ORDER_STATUS, order_id)
            refused = await socket.receive()
        query = "query Order($id: ID!) { order(id: $id) { status } }"
        answer = await stack.http.query(query, {"id": order_id}, headers=signed_in("u2"))
        samples = await stack.http.metrics()

    assert codes_of(refused) == ["FORBIDDEN"] == answer.codes()
    assert refused["payload"][0]["message"] == answer.errors[0]["message"]
    assert sample(samples, "bff_subscriptions_total", outcome="refused") == 1


async def test_a_refused_token_closes_the_socket_with_4403() -> None:
    async with subscribable_bff() as stack, stack.socket() as socket:
        await socket.send(
            {"type": "connection_init", "payload": {"Authorization": "Bearer not-a-jwt"}}
        )
        closed = await socket.closed()

    assert closed == (4403, "The token is not a well-formed JWT.")


async def test_the_token_may_come_with_the_upgrade_request_instead() -> None:
    async with subscribable_bff() as stack:
        order_id = await stack.place_order("u1")
        async with stack.socket(headers=signed_in("u1")) as socket:
            await socket.initialise(None)
            await socket.subscribe("1", ORDER_STATUS, order_id)
            first = await socket.receive()

    assert status_of(first) == "PLACED"


async def test_subscriptions_per_connection_are_capped() -> None:
    async with (
        subscribable_bff({"BFF_MAX_SUBSCRIPTIONS_PER_CONNECTION": "1"}) as stack,
        stack.socket() as socket,
    ):
        order_id, first = await follow_new_order(stack, socket)
        assert status_of(first) == "PLACED"
        await socket.subscribe("2", ORDER_STATUS, order_id)
        over = await socket.receive()
        await socket.send({"type": "complete", "id": "1"})
        await eventually(lambda: stack.streams_open() == 0)
        await socket.subscribe("3", ORDER_STATUS, order_id)
        again = await socket.receive()

    assert over["type"] == "error"
    assert over["id"] == "2"
    assert codes_of(over) == ["SUBSCRIPTION_LIMIT_EXCEEDED"]
    assert "At most 1 subscriptions" in over["payload"][0]["message"]
    assert again["id"] == "3"
    assert status_of(again) == "PLACED"


async def test_completing_a_subscription_closes_its_downstream_stream() -> None:
    async with subscribable_bff() as stack, stack.socket() as socket:
        await follow_new_order(stack, socket)
        await eventually(lambda: stack.streams_open() == 1)

        await socket.send({"type": "complete", "id": "1"})
        await eventually(lambda: stack.streams_open() == 0)
        stack.step()
        await socket.send({"type": "ping"})
        after = await socket.receive()
        samples = await stack.http.metrics()

    # Nothing more was sent for the stopped subscription, not even a `complete`.
    assert after == {"type": "pong"}
    assert sample(samples, "bff_subscriptions_total", outcome="cancelled") == 1


async def test_pings_are_answered_and_the_server_keeps_the_socket_alive() -> None:
    async with (
        subscribable_bff({"BFF_SUBSCRIPTION_KEEPALIVE_MS": "20"}) as stack,
        stack.socket() as socket,
    ):
        await socket.send({"type": "ping", "payload": {"at": 1}})
        pong = await socket.receive()
        await socket.initialise("u1")
        keepalive = await socket.receive()
        await socket.send({"type": "pong"})
        second = await socket.receive()

    assert pong == {"type": "pong"}
    assert keepalive == second == {"type": "ping"}


async def test_a_socket_that_never_initialises_is_closed_with_4408() -> None:
    async with (
        subscribable_bff({"BFF_SUBSCRIPTION_INIT_TIMEOUT_MS": "50"}) as stack,
        stack.socket() as socket,
    ):
        closed = await socket.closed()

    assert closed == (4408, "Connection initialisation timeout")


async def test_a_second_subscription_with_a_running_id_closes_the_socket_with_4409() -> None:
    async with subscribable_bff() as stack, stack.socket() as socket:
        # An id is free again once its subscription has ended.
        await socket.initialise("u1")
        for _ in range(2):
            await socket.subscribe("1", "subscription { nope }", "o1")
            assert (await socket.receive())["type"] == "error"
        order_id = await stack.place_order("u1")
        await socket.subscribe("1", ORDER_STATUS, order_id)
        await socket.receive()
        await socket.subscribe("1", ORDER_STATUS, order_id)
        closed = await socket.closed()
        await eventually(lambda: stack.streams_open() == 0)
        samples = await stack.http.metrics()

    assert closed == (4409, "Subscriber for 1 already exists")
    assert sample(samples, "bff_subscriptions_total", outcome="closed") == 1


VIOLATIONS = [
    (["not json"], (4400, "Invalid message received: not JSON")),
    (['{"id": "1"}'], (4400, "Invalid message received: no message type")),
    (['{"type": "start"}'], (4400, "Invalid message received: unknown type 'start'")),
    (['{"type": "subscribe", "id": "1", "payload": {}}'], (4401, "Unauthorized")),
    (
        ['{"type": "connection_init"}', '{"type": "connection_init"}'],
        (4429, "Too many initialisation requests"),
    ),
    (
        ['{"type": "connection_init"}', '{"type": "subscribe", "payload": {"query": "{}"}}'],
        (4400, "Invalid message received: subscribe needs an id"),
    ),
    (
        ['{"type": "connection_init", "payload": {"Authorization": 7}}'],
        (4400, "Invalid message received: Authorization must be a string"),
    ),
]


async def test_protocol_violations_close_the_socket_with_their_code() -> None:
    closed = []
    async with subscribable_bff() as stack:
        for messages, _ in VIOLATIONS:
            async with stack.socket() as socket:
                for message in messages:
                    await socket.connection.send(message)
                closed.append(await socket.closed())

    assert closed == [expected for _, expected in VIOLATIONS]


async def test_a_client_without_a_known_subprotocol_is_closed_with_4406() -> None:
    async with subscribable_bff() as stack, stack.socket(["graphql-sse"]) as socket:
        closed = await socket.closed()

    assert closed == (4406, "Subprotocol not acceptable")


REFUSALS = [
    ("subscription { orderStatus(orderId: 1) { nope } }", "GRAPHQL_VALIDATION_FAILED"),
    ("subscription {", "GRAPHQL_PARSE_FAILED"),
    ('{ product(id: "p1") { name } }', "BAD_REQUEST"),
    (
        'subscription { orderStatus(orderId: "o1") { user { orders { user { orders '
        "{ user { orders { user { orders { id } } } } } } } } } }",
        "OPERATION_LIMIT_EXCEEDED",
    ),
    ('subscription { orderStatus(orderId: "no such id!") { id } }', "BAD_USER_INPUT"),
    ('subscription { orderStatus(orderId: "o99999999") { id } }', "NOT_FOUND"),
]


async def test_what_cannot_start_is_one_error_message_with_its_code() -> None:
    refusals = []
    async with (
        subscribable_bff({"BFF_MAX_DEPTH": "6"}) as stack,
        stack.socket() as socket,
    ):
        await socket.initialise("u1")
        for number, (query, _) in enumerate(REFUSALS):
            await socket.send({"type": "subscribe", "id": str(number), "payload": {"query": query}})
            refused = await socket.receive()
            assert (refused["type"], refused["id"]) == ("error", str(number))
            refusals.extend(codes_of(refused))

    assert refusals == [code for _, code in REFUSALS]


async def test_a_subscription_outlives_the_operation_budget_while_each_event_keeps_it() -> None:
    # A budget too short for any downstream call: the nested product cannot be read,
    # yet the statuses keep coming, as the stream itself has no budget.
    async with (
        subscribable_bff({"BFF_OPERATION_BUDGET_MS": "1"}) as stack,
        stack.socket() as socket,
    ):
        _, first = await follow_new_order(stack, socket)
        stack.step()
        statuses = [status_of(first), *await follow(stack, socket, "1")]

    assert statuses == ["PLACED", "PAID", "SHIPPED", "DELIVERED"]
    assert first["payload"]["data"]["orderStatus"]["lines"][0]["product"] is None
    assert "DOWNSTREAM_TIMEOUT" in codes_of(first)


async def test_losing_the_orders_service_mid_stream_ends_with_an_error_then_complete() -> None:
    async with subscribable_bff() as stack, stack.socket() as socket:
        _, first = await follow_new_order(stack, socket)
        await stack.downstream["orders"].stop()
        failed = await socket.receive()
        done = await socket.receive()
        await socket.send({"type": "ping"})
        pong = await socket.receive()
        samples = await stack.http.metrics()

    assert status_of(first) == "PLACED"
    assert failed["type"] == "next"
    assert failed["payload"]["data"] is None
    assert codes_of(failed) == ["DOWNSTREAM_UNAVAILABLE"]
    assert failed["payload"]["errors"][0]["path"] == ["orderStatus"]
    assert done == {"type": "complete", "id": "1"}
    assert pong == {"type": "pong"}
    assert sample(samples, "bff_subscriptions_total", outcome="failed") == 1


async def test_draining_closes_every_socket_with_1001() -> None:
    async with subscribable_bff() as stack, stack.socket() as socket:
        await follow_new_order(stack, socket)

        stack.lifecycle.drain()
        closed = await socket.closed()
        await eventually(lambda: stack.streams_open() == 0)
        async with stack.socket() as late:
            refused = await late.closed()

    assert closed == (1001, "The server is shutting down")
    assert refused == (1001, "The server is shutting down")


async def test_subscriptions_are_not_served_over_http() -> None:
    async with subscribable_bff() as stack:
        answer = await stack.http.query(ORDER_STATUS, {"orderId": "o1"}, headers=signed_in("u1"))

    assert answer.status == 400
    assert answer.codes() == ["BAD_REQUEST"]
    assert "WebSocket" in answer.errors[0]["message"]


async def test_graphiqls_examples_place_an_order_then_follow_it() -> None:
    async with subscribable_bff() as stack, stack.socket() as socket:
        placed = await stack.http.run(PLACE_ORDER)
        await socket.initialise(FOLLOW_EXAMPLE.signed_in_as)
        payload = {"query": FOLLOW_EXAMPLE.query, "variables": dict(FOLLOW_EXAMPLE.variables)}
        await socket.send({"type": "subscribe", "id": "1", "payload": payload})
        first = await socket.receive()

    # The subscription's default id is the first order the demo services place.
    assert placed.data["placeOrder"]["id"] == FOLLOW_EXAMPLE.variables["orderId"]
    assert status_of(first) == "PLACED"
    assert "errors" not in first["payload"]


async def test_rate_limits_charge_each_subscription_its_cost() -> None:
    # Room for one subscription of this document (cost 48), refilled far too slowly
    # for a second right after it.
    env = {
        "BFF_RATE_LIMIT": "true",
        "BFF_RATE_LIMIT_CAPACITY": "60",
        "BFF_RATE_LIMIT_REFILL_PER_S": "1",
    }
    async with subscribable_bff(env) as stack, stack.socket() as socket:
        order_id, first = await follow_new_order(stack, socket)
        await socket.subscribe("2", ORDER_STATUS, order_id)
        limited = await socket.receive()

    assert status_of(first) == "PLACED"
    assert limited["id"] == "2"
    assert codes_of(limited) == ["RATE_LIMITED"]


@pytest.mark.parametrize(
    ("text", "over"),
    [("a" * 100, False), ("a" * 101, True), ("€" * 33, False), ("€" * 34, True)],
    ids=["ascii at the limit", "ascii past it", "3-byte text at the limit", "past it"],
)
def test_a_message_is_measured_in_bytes_not_characters(text: str, over: bool) -> None:
    assert oversized(text, 100) is over
