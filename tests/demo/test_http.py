"""Behaviour every service shares: ETags and 304s, request ids, errors, health."""

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response

from demo.app import ContractRoute, create_app
from demo.faults import Faults
from demo.services import SERVICE_NAMES, DemoService
from demo.stats import Stats
from tests.demo.support import Connect, error_code

READS = [
    ("accounts", "/users/u1"),
    ("accounts", "/users?ids=u1,u2"),
    ("catalog", "/products/p1"),
    ("catalog", "/products?category=c1&limit=5"),
    ("catalog", "/categories/c1"),
    ("inventory", "/stock?productIds=p1"),
    ("reviews", "/reviews?productIds=p1"),
    ("reviews", "/reviews/summary?productIds=p1"),
    ("orders", "/orders/o1"),
    ("orders", "/orders?userId=u1"),
    ("recommendations", "/recommendations/u1"),
]


@pytest.mark.parametrize(("name", "path"), READS)
async def test_reads_send_a_strong_etag_and_honour_if_none_match(
    services: dict[str, DemoService], connect: Connect, name: str, path: str
) -> None:
    client = connect(services[name])
    first = await client.get(path)
    etag = first.headers["etag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    assert first.headers["cache-control"]

    again = await client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == first.headers["cache-control"]

    listed = await client.get(path, headers={"If-None-Match": f'"other", W/{etag}'})
    assert listed.status_code == 304
    stale = await client.get(path, headers={"If-None-Match": '"other"'})
    assert stale.status_code == 200
    assert stale.content == first.content


async def test_etag_changes_with_the_body(reviews: httpx.AsyncClient) -> None:
    path = "/reviews/summary?productIds=p1"
    before = await reviews.get(path)
    draft = {"productId": "p1", "authorId": "u2", "rating": 5, "body": "Great."}
    await reviews.post("/reviews", json=draft)
    after = await reviews.get(path, headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]


@pytest.mark.parametrize("name", SERVICE_NAMES)
async def test_healthz(services: dict[str, DemoService], connect: Connect, name: str) -> None:
    response = await connect(services[name]).get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_request_id_is_echoed(accounts: httpx.AsyncClient) -> None:
    headers = {"X-Request-Id": "req-123"}
    for path in ("/users/u1", "/users/nobody", "/nowhere", "/healthz", "/_demo/stats"):
        response = await accounts.get(path, headers=headers)
        assert response.headers["x-request-id"] == "req-123", path
    assert "x-request-id" not in (await accounts.get("/users/u1")).headers


async def test_unknown_routes_and_methods_answer_in_the_contract_shape(
    catalog: httpx.AsyncClient,
) -> None:
    missing = await catalog.get("/nowhere")
    assert missing.status_code == 404
    assert error_code(missing) == "not_found"
    wrong = await catalog.delete("/products/p1")
    assert wrong.status_code == 405
    assert error_code(wrong) == "method_not_allowed"


async def test_unexpected_errors_are_500_in_the_contract_shape() -> None:
    async def broken(request: Request) -> Response:
        raise RuntimeError("bug")

    app = create_app([ContractRoute("GET", "/broken", broken)], Stats(), Faults())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/broken", headers={"X-Request-Id": "r-500"})
    assert response.status_code == 500
    assert error_code(response) == "internal"
    assert response.headers["x-request-id"] == "r-500"
