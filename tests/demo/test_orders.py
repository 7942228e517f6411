import asyncio
from collections.abc import Mapping

import httpx
import orjson
import pytest

from demo.data import DemoData
from demo.services import build_services
from tests.demo.support import error_code
from tests.harness import Clock
from tests.served import serving


def _order(lines: Mapping[str, int], user: str = "u1") -> dict[str, object]:
    return {
        "userId": user,
        "lines": [{"productId": pid, "quantity": qty} for pid, qty in lines.items()],
    }


async def _available(inventory: httpx.AsyncClient, product_id: str) -> int:
    response = await inventory.get("/stock", params={"productIds": product_id})
    available = response.json()["items"][0]["available"]
    assert isinstance(available, int)
    return available


async def test_get_order(orders: httpx.AsyncClient, data: DemoData) -> None:
    delivered = next(o for o in data.orders.values() if o.status == "delivered")
    response = await orders.get(f"/orders/{delivered.id}")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-cache"
    assert response.json() == delivered.to_json()


async def test_unknown_order_is_404(orders: httpx.AsyncClient) -> None:
    for path in ("/orders/o0", "/orders/u1", "/orders/o99999/events"):
        response = await orders.get(path)
        assert response.status_code == 404
        assert error_code(response) == "not_found"


async def test_user_orders_are_newest_first(orders: httpx.AsyncClient, data: DemoData) -> None:
    response = await orders.get("/orders", params={"userId": "u1", "limit": 3})
    assert response.headers["cache-control"] == "private, no-cache"
    assert [o["id"] for o in response.json()["items"]] == [
        o.id for o in data.orders_by_user["u1"][:3]
    ]
    default = (await orders.get("/orders", params={"userId": "u1"})).json()["items"]
    assert len(default) == min(10, len(data.orders_by_user["u1"]))
    stamps = [o["createdAt"] for o in default]
    assert stamps == sorted(stamps, reverse=True)


async def test_user_without_orders_has_none(orders: httpx.AsyncClient, data: DemoData) -> None:
    idle = next(uid for uid in data.users if uid not in data.orders_by_user)
    for user in (idle, "nobody"):
        response = await orders.get("/orders", params={"userId": user})
        assert response.json() == {"items": []}


@pytest.mark.parametrize(
    "params", [{}, {"userId": ""}, {"userId": "u1", "limit": "0"}, {"userId": "u1", "limit": "51"}]
)
async def test_bad_order_queries_are_400(orders: httpx.AsyncClient, params: dict[str, str]) -> None:
    response = await orders.get("/orders", params=params)
    assert response.status_code == 400
    assert error_code(response) == "bad_request"


async def test_placing_an_order_is_idempotent(
    orders: httpx.AsyncClient, inventory: httpx.AsyncClient, data: DemoData
) -> None:
    product = next(s for s in data.stock.values() if s.available >= 5).product_id
    before = await _available(inventory, product)
    headers = {"Idempotency-Key": "order-1"}

    first = await orders.post("/orders", json=_order({product: 2}), headers=headers)
    assert first.status_code == 201
    order = first.json()
    assert order["status"] == "placed"
    assert order["userId"] == "u1"
    assert order["currency"] == "EUR"
    price = data.products[product].price_cents
    assert order["lines"] == [{"productId": product, "quantity": 2, "unitPriceCents": price}]
    assert order["totalCents"] == 2 * price
    assert first.headers["location"] == f"/orders/{order['id']}"
    assert await _available(inventory, product) == before - 2

    again = await orders.post("/orders", json=_order({product: 2}), headers=headers)
    assert again.status_code == 200
    assert again.json()["id"] == order["id"]
    assert await _available(inventory, product) == before - 2

    listed = (await orders.get("/orders", params={"userId": "u1", "limit": 1})).json()
    assert listed["items"][0]["id"] == order["id"]
    assert (await orders.get(f"/orders/{order['id']}")).json()["lines"] == order["lines"]


async def test_a_key_cannot_be_reused_for_another_order(orders: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "reused"}
    assert (
        await orders.post("/orders", json=_order({"p1": 1}), headers=headers)
    ).status_code == 201
    response = await orders.post("/orders", json=_order({"p1": 2}), headers=headers)
    assert response.status_code == 422
    assert error_code(response) == "idempotency_key_reused"


async def test_insufficient_stock_is_409_and_takes_nothing(
    orders: httpx.AsyncClient, inventory: httpx.AsyncClient, data: DemoData
) -> None:
    scarce = next(s for s in data.stock.values() if 0 < s.available < 50)
    plenty = next(s for s in data.stock.values() if s.available > 10)
    lines = {plenty.product_id: 1, scarce.product_id: scarce.available + 1}
    response = await orders.post("/orders", json=_order(lines), headers={"Idempotency-Key": "a"})
    assert response.status_code == 409
    assert error_code(response) == "insufficient_stock"
    assert await _available(inventory, plenty.product_id) == plenty.available

    # Exactly what is left can be bought; then nothing is.
    exact = {scarce.product_id: scarce.available}
    response = await orders.post("/orders", json=_order(exact), headers={"Idempotency-Key": "a"})
    assert response.status_code == 201
    assert await _available(inventory, scarce.product_id) == 0
    response = await orders.post(
        "/orders", json=_order({scarce.product_id: 1}), headers={"Idempotency-Key": "b"}
    )
    assert response.status_code == 409


async def test_out_of_stock_products_cannot_be_ordered(
    orders: httpx.AsyncClient, data: DemoData
) -> None:
    empty = next(s for s in data.stock.values() if s.available == 0).product_id
    response = await orders.post(
        "/orders", json=_order({empty: 1}), headers={"Idempotency-Key": "x"}
    )
    assert response.status_code == 409


async def test_placing_needs_an_idempotency_key(orders: httpx.AsyncClient) -> None:
    for headers in ({}, {"Idempotency-Key": "  "}):
        response = await orders.post("/orders", json=_order({"p1": 1}), headers=headers)
        assert response.status_code == 400
        assert error_code(response) == "bad_request"


@pytest.mark.parametrize(
    "body",
    [
        {"userId": "u9999", "lines": [{"productId": "p1", "quantity": 1}]},
        {"userId": "u1", "lines": []},
        {"userId": "u1"},
        {"userId": "u1", "lines": [{"productId": "p9999", "quantity": 1}]},
        {"userId": "u1", "lines": [{"productId": "p1", "quantity": 0}]},
        {"userId": "u1", "lines": [{"productId": "p1", "quantity": "1"}]},
        {"userId": "u1", "lines": [{"productId": "p1"}]},
        {"userId": "u1", "lines": ["p1"]},
        {"userId": 1, "lines": [{"productId": "p1", "quantity": 1}]},
    ],
)
async def test_invalid_order_is_422(orders: httpx.AsyncClient, body: object) -> None:
    response = await orders.post("/orders", json=body, headers={"Idempotency-Key": "k"})
    assert response.status_code == 422
    assert error_code(response) == "invalid"


async def test_non_json_order_is_400(orders: httpx.AsyncClient) -> None:
    response = await orders.post("/orders", content=b"{", headers={"Idempotency-Key": "k"})
    assert response.status_code == 400


async def _events(orders: httpx.AsyncClient, order_id: str) -> list[dict[str, object]]:
    events = []
    async with orders.stream("GET", f"/orders/{order_id}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                events.append(orjson.loads(line.removeprefix("data: ")))
            else:
                assert line == ""
    return events


async def test_order_events_follow_the_order_along_the_clock() -> None:
    # Served on a socket (an in-process transport would buffer the stream whole), over
    # a clock the test steps: a status changes only when the test moves the clock on.
    step, clock = 1 / 16, Clock()
    service = build_services(["orders"], order_step_seconds=step, clock=clock)["orders"]
    events: list[dict[str, object]] = []
    async with (
        serving({"orders": service.app}) as served,
        httpx.AsyncClient(base_url=served["orders"].url) as orders,
    ):
        placed = await orders.post(
            "/orders", json=_order({"p1": 1}), headers={"Idempotency-Key": "sse"}
        )
        order_id = placed.json()["id"]
        clock.now += step / 2  # never on a step's boundary from here on
        # One step after the first event, then two at once: "shipped" lasts no time at all.
        steps = iter((1, 2))
        async with orders.stream("GET", f"/orders/{order_id}/events") as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    events.append(orjson.loads(line.removeprefix("data: ")))
                    clock.now += step * next(steps, 0)
                else:  # between events: blank lines, and keep-alive comments should any come
                    assert line == "" or line.startswith(":")
        final = (await orders.get(f"/orders/{order_id}")).json()

    assert [event["status"] for event in events] == ["placed", "paid", "delivered"]
    assert all(event["id"] == order_id for event in events)
    assert final["status"] == "delivered"


async def test_events_of_a_finished_order_end_at_once(
    orders: httpx.AsyncClient, data: DemoData
) -> None:
    cancelled = next(o for o in data.orders.values() if o.status == "cancelled")
    assert await _events(orders, cancelled.id) == [cancelled.to_json()]


async def test_a_quiet_order_stream_sends_keep_alive_comments() -> None:
    # Served on a socket: the in-process transport would wait for the stream's end.
    services = build_services(["orders"], clock=Clock(), heartbeat_s=0.01)
    async with (
        serving({"orders": services["orders"].app}) as served,
        httpx.AsyncClient(base_url=served["orders"].url) as orders,
    ):
        placed = await orders.post(
            "/orders", json=_order({"p1": 1}), headers={"Idempotency-Key": "quiet"}
        )
        lines: list[str] = []
        async with (
            asyncio.timeout(10),  # fail rather than hang, should the comments never come
            orders.stream("GET", f"/orders/{placed.json()['id']}/events") as response,
        ):
            async for line in response.aiter_lines():
                lines.append(line)
                if lines.count(": keep-alive") == 2:
                    break

    assert lines[0].startswith("data: ")
    assert lines[1:] == ["", ": keep-alive", "", ": keep-alive"]
