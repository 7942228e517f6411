"""The shared client mechanics, against hand-written answers a real service would not give."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import orjson
import pytest

from clients.accounts import AccountsClient
from clients.errors import (
    BadResponse,
    Conflict,
    DownstreamError,
    NotFound,
    Rejected,
    Timeout,
    Unavailable,
)
from clients.http import CallScope, ServiceConfig, open_http
from clients.orders import LineRequest, OrdersClient
from clients.reviews import ReviewsClient
from tests.harness import answered

USER = {
    "id": "u1",
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "tier": "gold",
    "country": "GB",
    "createdAt": "2024-01-02T03:04:05Z",
}

Handler = Callable[[httpx.Request], httpx.Response]


def accounts(handler: Handler, *, max_connections: int = 8) -> AccountsClient:
    config = ServiceConfig(
        base_url="http://accounts.internal:8101", max_connections=max_connections
    )
    return AccountsClient("accounts", open_http(config, httpx.MockTransport(handler)), config)


async def test_get_user_parses_the_record() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=USER)

    user = await accounts(handler).get_user("u1")

    assert user.name == "Ada Lovelace"
    assert user.tier == "gold"
    assert user.created_at.year == 2024
    assert str(seen[0].url) == "http://accounts.internal:8101/users/u1"


async def test_path_parameters_are_escaped() -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(404, json={"error": {"code": "not_found", "message": "no"}})

    with pytest.raises(NotFound):
        await accounts(handler).get_user("../admin?x=1")

    assert seen[0].raw_path == b"/users/..%2Fadmin%3Fx%3D1"


async def test_batches_are_split_into_chunks_of_one_hundred() -> None:
    chunks: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        ids = request.url.params["ids"].split(",")
        chunks.append(ids)
        return httpx.Response(200, json={"items": [{**USER, "id": uid} for uid in ids]})

    ids = [f"u{n}" for n in range(1, 251)]
    users = await accounts(handler).get_users(ids)

    assert sorted(len(chunk) for chunk in chunks) == [50, 100, 100]
    assert sorted(users) == sorted(ids)
    assert all(answered(users[user_id]).id == user_id for user_id in ids)


async def test_scope_forwards_the_request_id_and_the_callers_authorization() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=USER)

    scope = CallScope(request_id="req-7", authorization="Bearer abc")
    await accounts(handler).scoped(scope).get_user("u1")
    config = ServiceConfig(base_url="http://accounts.internal", forward_authorization=False)
    private = AccountsClient("accounts", open_http(config, httpx.MockTransport(handler)), config)
    await private.scoped(scope).get_user("u1")

    assert seen[0].headers["x-request-id"] == "req-7"
    assert seen[0].headers["authorization"] == "Bearer abc"
    assert "authorization" not in seen[1].headers
    assert set(seen[0].headers) == {
        "host",
        "accept",
        "accept-encoding",
        "connection",
        "user-agent",
        "x-request-id",
        "authorization",
        "x-request-timeout-ms",
    }
    # Without an operation deadline, the time left is the service's own timeout.
    assert 1 <= int(seen[0].headers["x-request-timeout-ms"]) <= 2000


async def test_idempotency_key_and_body_are_sent_on_create_order() -> None:
    seen: list[httpx.Request] = []
    order = {
        "id": "o9",
        "userId": "u1",
        "status": "placed",
        "createdAt": "2024-05-01T00:00:00Z",
        "lines": [{"productId": "p1", "quantity": 2, "unitPriceCents": 1250}],
        "totalCents": 2500,
        "currency": "EUR",
    }

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json=order)

    config = ServiceConfig(base_url="http://orders.internal")
    client = OrdersClient("orders", open_http(config, httpx.MockTransport(handler)), config)
    created = await client.create_order(
        user_id="u1", lines=[LineRequest("p1", 2)], idempotency_key="key-1"
    )

    assert created.total_cents == 2500
    assert seen[0].method == "POST"
    assert seen[0].headers["idempotency-key"] == "key-1"
    assert orjson.loads(seen[0].content) == {
        "userId": "u1",
        "lines": [{"productId": "p1", "quantity": 2}],
    }


@pytest.mark.parametrize(
    ("status", "error_type", "code"),
    [
        (404, NotFound, "NOT_FOUND"),
        (400, Rejected, "BAD_USER_INPUT"),
        (422, Rejected, "BAD_USER_INPUT"),
        (409, Conflict, "CONFLICT"),
        (500, Unavailable, "DOWNSTREAM_UNAVAILABLE"),
        (503, Unavailable, "DOWNSTREAM_UNAVAILABLE"),
        (418, BadResponse, "DOWNSTREAM_BAD_RESPONSE"),
    ],
)
async def test_statuses_map_to_typed_errors(
    status: int, error_type: type[DownstreamError], code: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"error": {"code": "x", "message": "rating too high"}})

    with pytest.raises(error_type) as caught:
        await accounts(handler).get_user("u1")

    assert caught.value.code == code
    assert caught.value.service == "accounts"
    assert "accounts.internal" not in caught.value.message


async def test_refused_writes_keep_the_service_message_and_reads_do_not() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json={"error": {"code": "invalid", "message": "rating 9 > 5"}})

    config = ServiceConfig(base_url="http://reviews.internal")
    reviews = ReviewsClient("reviews", open_http(config, httpx.MockTransport(handler)), config)
    with pytest.raises(Rejected, match="rating 9 > 5"):
        await reviews.create_review(product_id="p1", author_id="u1", rating=9, body="x")
    with pytest.raises(Rejected, match=r"^accounts refused the input$"):
        await accounts(handler).get_user("u1")


async def test_transport_failures_map_to_unavailable_and_timeout() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    def stall(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(Unavailable, match="accounts is unavailable"):
        await accounts(refuse).get_user("u1")
    with pytest.raises(Timeout, match="did not answer in time"):
        await accounts(stall).get_user("u1")


@pytest.mark.parametrize(
    "answer",
    [
        b"not json",
        b"[1, 2]",
        orjson.dumps({**USER, "tier": "platinum"}),
        orjson.dumps({**USER, "createdAt": "yesterday"}),
        orjson.dumps({**USER, "createdAt": "2024-01-02T03:04:05"}),
        orjson.dumps({key: value for key, value in USER.items() if key != "name"}),
    ],
)
async def test_answers_that_break_the_contract_are_bad_responses(answer: bytes) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=answer)

    with pytest.raises(BadResponse):
        await accounts(handler).get_user("u1")


async def test_ping_reports_health() -> None:
    def healthy(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/healthz"
        return httpx.Response(200, json={"status": "ok"})

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    assert await accounts(healthy).ping() is True
    assert await accounts(refuse).ping() is False


async def test_calls_in_flight_never_exceed_the_pool_size() -> None:
    in_flight = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return httpx.Response(200, json=USER)

    config = ServiceConfig(base_url="http://accounts.internal", max_connections=3)
    client = AccountsClient("accounts", open_http(config, httpx.MockTransport(handler)), config)
    await asyncio.gather(*(client.get_user(f"u{n}") for n in range(20)))

    assert peak == 3
