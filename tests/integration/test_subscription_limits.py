"""Sockets that follow their token, and caps on what callers hold open.

A token is signed inside each test that needs one, so that a slow run cannot
expire it early; where expiry must come before a timer could fire, the test
sets the BFF's wall clock instead of waiting.
"""

from __future__ import annotations

import jwt
import pytest

from bff.config.settings import Settings
from bff.security.auth import EXPIRED
from demo.identity import IdentityProvider
from demo.orders import HEARTBEAT_S
from tests.harness import DEFAULT_SCOPE, Json, sample, signed_in
from tests.integration.test_subscriptions import ORDER_STATUS, codes_of, status_of
from tests.sockets import Socket, eventually, subscribable_bff

pytestmark = pytest.mark.e2e

PROXY = {"BFF_TRUSTED_PROXIES": "127.0.0.1/32"}


def token_for(user_id: str, *, ttl_s: int) -> str:
    return IdentityProvider().sign(user_id, scope=DEFAULT_SCOPE, ttl_s=ttl_s)


def exp_of(token: str) -> int:
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    assert isinstance(exp, int)
    return exp


async def sign_in(socket: Socket, token: str) -> None:
    await socket.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    assert await socket.receive() == {"type": "connection_ack"}


async def follow(socket: Socket, operation: str, order_id: str) -> Json:
    """Subscribe to the order under `operation`; the first reply."""
    await socket.subscribe(operation, ORDER_STATUS, order_id)
    return await socket.receive()


def running(message: Json) -> bool:
    """Whether `message` is an event of a subscription (rather than its refusal)."""
    return message["type"] == "next" and bool(status_of(message))


def limit_of(refused: Json) -> tuple[str, int]:
    extensions = refused["payload"][0]["extensions"]
    return extensions["limit"], extensions["maximum"]


async def test_a_socket_is_closed_with_4403_when_its_token_expires() -> None:
    async with subscribable_bff({"BFF_AUTH_LEEWAY_S": "0"}) as stack:
        order_id = await stack.place_order("u1")
        async with stack.socket() as socket:
            await sign_in(socket, token_for("u1", ttl_s=3))
            await socket.subscribe("1", ORDER_STATUS, order_id)
            first = await socket.receive()
            await eventually(lambda: stack.streams_open() == 1)

            closed = await socket.closed()
        await eventually(lambda: stack.streams_open() == 0)
        samples = await stack.http.metrics()

    assert status_of(first) == "PLACED"
    assert closed == (4403, EXPIRED)
    assert sample(samples, "bff_websocket_refusals_total", reason="token_expired") == 1
    assert sample(samples, "bff_subscriptions_total", outcome="closed") == 1


async def test_a_subscribe_after_expiry_is_refused_before_the_timer_fires() -> None:
    # The expiry timer, set on the real clock at connection_init, is ten minutes
    # away when the BFF's wall clock is set to the token's last moments.
    token = token_for("u1", ttl_s=600)
    accepted_until = exp_of(token) + 30  # the default leeway, as HTTP allows it
    async with subscribable_bff() as stack, stack.socket() as socket:
        order_id = await stack.place_order("u1")
        await sign_in(socket, token)
        stack.wall.now = accepted_until - 0.001
        within_leeway = await follow(socket, "1", order_id)
        await eventually(lambda: stack.streams_open() == 1)
        stack.wall.now = accepted_until
        await socket.subscribe("2", ORDER_STATUS, order_id)
        closed = await socket.closed()
        samples = await stack.http.metrics()

    assert status_of(within_leeway) == "PLACED"
    assert closed == (4403, EXPIRED)
    assert stack.streams_opened() == 1
    assert sample(samples, "bff_websocket_refusals_total", reason="token_expired") == 1


async def test_an_anonymous_socket_has_no_expiry() -> None:
    async with subscribable_bff() as stack, stack.socket() as socket:
        await socket.initialise(None)
        stack.wall.now = 2.0**40
        refused = await follow(socket, "1", await stack.place_order("u1"))
        await socket.send({"type": "ping"})
        pong = await socket.receive()

    assert codes_of(refused) == ["UNAUTHENTICATED"]
    assert pong == {"type": "pong"}


async def test_a_socket_over_the_per_user_cap_is_closed_with_1013() -> None:
    async with subscribable_bff({"BFF_MAX_WEBSOCKETS_PER_USER": "2"}) as stack:
        async with stack.socket() as first, stack.socket() as second, stack.socket() as third:
            await first.initialise("u1")
            await second.initialise("u1")
            await third.send({"type": "connection_init", "payload": signed_in("u1")})
            over = await third.closed()
            async with stack.socket() as other_user:
                await other_user.initialise("u2")
            await second.connection.close()
            await stack.metric_reaches(1, "bff_websockets_open")
            async with stack.socket() as again:
                await again.initialise("u1")
        samples = await stack.http.metrics()

    assert over == (1013, "Too many WebSockets for one user (at most 2): close one, then retry")
    assert sample(samples, "bff_websocket_refusals_total", reason="websockets_per_user") == 1


async def test_sockets_per_address_are_capped_by_the_address_trusted_proxies_give() -> None:
    env = {"BFF_MAX_WEBSOCKETS_PER_ADDRESS": "2", **PROXY}
    behind = {"X-Forwarded-For": "203.0.113.7"}
    async with (
        subscribable_bff(env) as stack,
        stack.socket(headers=behind) as first,
        stack.socket(headers=behind) as second,
        stack.socket(headers=behind) as third,
        stack.socket(headers={"X-Forwarded-For": "203.0.113.8"}) as elsewhere,
        stack.socket() as the_proxy_itself,
    ):
        await first.initialise(None)
        await second.initialise("u1")
        over = await third.closed()
        await elsewhere.initialise(None)
        await the_proxy_itself.initialise(None)
        samples = await stack.http.metrics()

    assert over == (
        1013,
        "Too many WebSockets from this address (at most 2): close one, then retry",
    )
    assert sample(samples, "bff_websockets_open") == 4
    assert sample(samples, "bff_websocket_refusals_total", reason="websockets_per_address") == 1


async def test_subscriptions_per_user_are_capped_across_sockets() -> None:
    async with (
        subscribable_bff({"BFF_MAX_SUBSCRIPTIONS_PER_USER": "2"}) as stack,
        stack.socket() as first,
        stack.socket() as second,
        stack.socket() as other_user,
    ):
        mine, theirs = await stack.place_order("u1"), await stack.place_order("u2")
        await first.initialise("u1")
        await second.initialise("u1")
        await other_user.initialise("u2")
        started = [await follow(first, "1", mine), await follow(second, "1", mine)]
        over = await follow(second, "2", mine)
        others = await follow(other_user, "1", theirs)
        await first.send({"type": "complete", "id": "1"})
        await stack.metric_reaches(2, "bff_subscriptions_active")
        again = await follow(second, "3", mine)
        samples = await stack.http.metrics()

    assert all(running(message) for message in [*started, others, again])
    assert (over["type"], over["id"]) == ("error", "2")
    assert codes_of(over) == ["SUBSCRIPTION_LIMIT_EXCEEDED"]
    assert limit_of(over) == ("subscriptions_per_user", 2)
    assert "At most 2 subscriptions may run at once for one user" in over["payload"][0]["message"]
    assert again["id"] == "3"
    assert sample(samples, "bff_websocket_refusals_total", reason="subscriptions_per_user") == 1


async def test_subscriptions_per_address_are_capped_across_users() -> None:
    env = {"BFF_MAX_SUBSCRIPTIONS_PER_ADDRESS": "2", **PROXY}
    behind = {"X-Forwarded-For": "198.51.100.1"}
    async with (
        subscribable_bff(env) as stack,
        stack.socket(headers=behind) as first,
        stack.socket(headers=behind) as second,
        stack.socket(headers={"X-Forwarded-For": "198.51.100.2"}) as elsewhere,
    ):
        orders = [await stack.place_order(user_id) for user_id in ("u1", "u2", "u3")]
        for socket, user_id in ((first, "u1"), (second, "u2"), (elsewhere, "u3")):
            await socket.initialise(user_id)
        started = [await follow(first, "1", orders[0]), await follow(second, "1", orders[1])]
        over = await follow(second, "2", orders[1])
        other_address = await follow(elsewhere, "1", orders[2])
        samples = await stack.http.metrics()

    assert all(running(message) for message in [*started, other_address])
    assert codes_of(over) == ["SUBSCRIPTION_LIMIT_EXCEEDED"]
    assert limit_of(over) == ("subscriptions_per_address", 2)
    assert sample(samples, "bff_websocket_refusals_total", reason="subscriptions_per_address") == 1


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
