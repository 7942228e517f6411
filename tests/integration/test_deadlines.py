"""Every operation has a time budget; each downstream call gets what is left of it."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from bff.config.settings import Settings, SettingsError
from bff.contract.examples import CATEGORY_LISTING, PRODUCT_PAGE
from clients.errors import Timeout
from clients.http import CallScope, ServiceConfig, open_http
from clients.inventory import InventoryClient
from demo.services import build_services
from tests.harness import running_bff


def deadlines_sent(service_requests: list[dict[str, str]]) -> list[int]:
    return [int(headers["x-request-timeout-ms"]) for headers in service_requests]


async def test_a_hanging_service_costs_the_budget_not_the_response() -> None:
    demo = build_services()
    demo["inventory"].faults.hang_rate = 1.0
    async with running_bff({"BFF_OPERATION_BUDGET_MS": "400"}, demo=demo) as bff:
        # The hang alone would last 300 s; the guard only stops a broken test.
        async with asyncio.timeout(10):
            reply = await bff.run(PRODUCT_PAGE, id="p1")

    product = reply.data["product"]
    assert product["name"]
    assert product["rating"]["count"] > 0
    assert len(product["reviews"]) == 5
    assert product["stock"] is None
    assert reply.codes() == ["DOWNSTREAM_TIMEOUT"]
    assert reply.error_at("product", "stock")["message"] == (
        "inventory did not answer within the operation's time budget"
    )
    # Every attempt told the service how long the BFF would wait: never past the budget.
    sent = deadlines_sent([dict(r.headers) for r in demo["inventory"].stats.recent()])
    assert sent
    assert all(0 < milliseconds <= 400 for milliseconds in sent)


async def test_budgets_can_be_set_per_operation() -> None:
    demo = build_services()
    env = {"BFF_OPERATION_BUDGETS": "ProductPage=300, HomeFeed=1500"}
    async with running_bff(env, demo=demo) as bff:
        # Prepared once first: on a busy machine a first preparation can take much of 300 ms.
        await bff.run(PRODUCT_PAGE, id="p2")
        demo["inventory"].stats.reset()
        await bff.run(PRODUCT_PAGE, id="p1")
        page = deadlines_sent([dict(r.headers) for r in demo["inventory"].stats.recent()])
        demo["inventory"].stats.reset()
        await bff.run(CATEGORY_LISTING, category="c2")
        listing = deadlines_sent([dict(r.headers) for r in demo["inventory"].stats.recent()])

    assert page
    assert all(milliseconds <= 300 for milliseconds in page)
    # Other operations keep the default budget (2.5 s), capped by the call's own 2 s timeout.
    assert listing
    assert all(1000 < milliseconds <= 2000 for milliseconds in listing)


async def test_a_call_with_no_time_left_is_not_sent() -> None:
    service = build_services(["inventory"])["inventory"]
    config = ServiceConfig(base_url="http://inventory.test")
    client = InventoryClient(
        "inventory", open_http(config, httpx.ASGITransport(app=service.app)), config
    )
    spent = CallScope(deadline=time.monotonic() - 0.001)

    stock = await client.scoped(spent).get_stock(["p1"])

    failure = stock["p1"]
    assert isinstance(failure, Timeout)
    assert failure.message == "inventory was not asked: the operation's time budget ran out"
    assert service.stats.total() == 0


@pytest.mark.parametrize("raw", ["ProductPage", "ProductPage=fast", "=100", "ProductPage=0"])
def test_malformed_budget_settings_are_refused_by_name(raw: str) -> None:
    with pytest.raises(SettingsError, match=r"^BFF_OPERATION_BUDGETS: expected Name=milliseconds"):
        Settings.from_environ({"BFF_OPERATION_BUDGETS": raw})
