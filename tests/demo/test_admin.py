import httpx
import pytest

from demo.services import DemoService
from demo.stats import RECENT_LIMIT
from tests.demo.support import error_code


async def test_stats_count_per_route(
    accounts: httpx.AsyncClient, services: dict[str, DemoService]
) -> None:
    await accounts.get("/users/u1")
    await accounts.get("/users/u2")
    await accounts.get("/users/nobody")
    await accounts.get("/users", params={"ids": "u1,u2"})
    await accounts.get("/healthz")
    await accounts.get("/_demo/requests")

    body = (await accounts.get("/_demo/stats")).json()
    assert body == {
        "total": 4,
        "routes": {"GET /users/{id}": 3, "GET /users": 1},
        "abandoned": {},
        "peak_in_flight": 1,
    }
    stats = services["accounts"].stats
    assert stats.total() == 4
    assert stats.by_route() == body["routes"]


async def test_unused_routes_report_zero(reviews: httpx.AsyncClient) -> None:
    body = (await reviews.get("/_demo/stats")).json()
    assert body == {
        "total": 0,
        "routes": {"GET /reviews": 0, "GET /reviews/summary": 0, "POST /reviews": 0},
        "abandoned": {},
        "peak_in_flight": 0,
    }


async def test_reset_zeroes_counts_and_log(
    catalog: httpx.AsyncClient, services: dict[str, DemoService]
) -> None:
    await catalog.get("/products/p1")
    response = await catalog.post("/_demo/reset")
    assert response.status_code == 200
    assert response.json()["total"] == 0
    assert services["catalog"].stats.recent() == []
    assert (await catalog.get("/_demo/requests")).json() == {"items": []}


async def test_requests_log_keeps_the_interesting_headers(orders: httpx.AsyncClient) -> None:
    headers = {
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "tracestate": "congo=t61rcWkgMzE",
        "baggage": "userId=alice",
        "Authorization": "Bearer token",
        "X-Request-Id": "r-1",
        "Idempotency-Key": "key-1",
        "X-User-Id": "u1",
        "X-Forwarded-For": "10.0.0.1",
        "X-Request-Timeout-Ms": "250",
        "If-None-Match": '"abc"',
        "X-Unrelated": "dropped",
    }
    await orders.get("/orders", params={"userId": "u1", "limit": "2"}, headers=headers)
    items = (await orders.get("/_demo/requests")).json()["items"]
    kept = {name.lower(): value for name, value in headers.items() if name != "X-Unrelated"}
    assert items == [
        {
            "route": "GET /orders",
            "method": "GET",
            "path": "/orders",
            "query": "userId=u1&limit=2",
            "headers": kept,
        }
    ]


async def test_requests_log_is_bounded(
    accounts: httpx.AsyncClient, services: dict[str, DemoService]
) -> None:
    for number in range(RECENT_LIMIT + 5):
        await accounts.get(f"/users/u{number % 1000 + 1}")
    recent = services["accounts"].stats.recent()
    assert len(recent) == RECENT_LIMIT
    assert recent[-1].path == "/users/u5"
    assert services["accounts"].stats.total() == RECENT_LIMIT + 5


async def test_get_and_put_faults(catalog: httpx.AsyncClient) -> None:
    before = (await catalog.get("/_demo/faults")).json()
    assert before == {
        "latency_ms": 0,
        "jitter_ms": 0,
        "error_rate": 0,
        "hang_rate": 0,
        "hang_seconds": 300,
        "retry_after_s": 0,
    }
    after = await catalog.put("/_demo/faults", json={"latency_ms": 1, "jitter_ms": 2})
    assert after.json() == before | {"latency_ms": 1, "jitter_ms": 2}


@pytest.mark.parametrize(
    "body",
    [b'{"error_rate": 2}', b'{"latency_ms": "slow"}', b'{"unknown": 1}', b"[1]", b"nope"],
)
async def test_bad_fault_updates_are_400(catalog: httpx.AsyncClient, body: bytes) -> None:
    response = await catalog.put("/_demo/faults", content=body)
    assert response.status_code == 400
    assert error_code(response) == "bad_request"
    assert (await catalog.get("/_demo/faults")).json()["error_rate"] == 0
