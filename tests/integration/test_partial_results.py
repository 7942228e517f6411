"""When one downstream service fails, the others' data still arrives, with coded errors."""

from __future__ import annotations

import httpx

from bff.contract.examples import CATEGORY_LISTING, HOME_FEED, PRODUCT_PAGE
from demo.launch import DemoProcess, free_port
from demo.services import build_services
from tests.harness import Reply, running_bff
from tests.seed import DATA


def assert_no_leaks(reply: Reply) -> None:
    text = str(reply.body)
    assert "Traceback" not in text
    assert "127.0.0.1" not in text
    assert "http://" not in text


async def test_stopped_inventory_nulls_only_stock() -> None:
    closed = free_port()
    async with running_bff(
        {"BFF_INVENTORY_URL": f"http://127.0.0.1:{closed}"},
        network=["inventory"],
    ) as bff:
        reply = await bff.run(PRODUCT_PAGE, id="p1")

    product = reply.data["product"]
    assert product["stock"] is None
    assert product["name"]
    assert product["rating"]["count"] > 0
    assert len(product["reviews"]) == 5
    assert reply.error_at("product", "stock")["extensions"] == {
        "code": "DOWNSTREAM_UNAVAILABLE",
        "service": "inventory",
    }
    assert reply.error_at("product", "stock")["message"] == "inventory is unavailable"
    assert len(reply.errors) == 1
    assert_no_leaks(reply)


async def test_failing_reviews_service_keeps_the_listing() -> None:
    demo = build_services()
    demo["reviews"].faults.error_rate = 1.0
    async with running_bff(demo=demo) as bff:
        reply = await bff.run(CATEGORY_LISTING, category="c1")

    nodes = [edge["node"] for edge in reply.data["products"]["edges"]]
    assert len(nodes) == 50
    assert all(node["rating"] is None and node["reviews"] is None for node in nodes)
    assert all(node["stock"] is not None and node["category"] is not None for node in nodes)
    assert set(reply.codes()) == {"DOWNSTREAM_UNAVAILABLE"}
    assert reply.error_at("products", "edges", 0, "node", "rating")["extensions"] == {
        "code": "DOWNSTREAM_UNAVAILABLE",
        "service": "reviews",
    }
    assert len(reply.errors) == 100
    assert_no_leaks(reply)


async def test_stopped_recommendations_keep_the_rest_of_the_home_feed() -> None:
    async with running_bff(
        {"BFF_RECOMMENDATIONS_URL": f"http://127.0.0.1:{free_port()}"},
        network=["recommendations"],
    ) as bff:
        reply = await bff.run(HOME_FEED)

    assert reply.data["recommendations"] is None
    assert reply.data["me"]["name"] == "Ada Lovelace"
    assert reply.codes() == ["DOWNSTREAM_UNAVAILABLE"]


async def test_hanging_service_times_out_within_its_budget(stack: DemoProcess) -> None:
    stack.set_faults("inventory", hang_rate=1.0)
    env = {**stack.bff_env(), "BFF_INVENTORY_TIMEOUT_MS": "300", "BFF_RETRY_ATTEMPTS": "1"}
    async with running_bff(env, network=stack.ports) as bff:
        reply = await bff.run(PRODUCT_PAGE, id="p1")
    async with httpx.AsyncClient(base_url=stack.url("inventory")) as inventory:
        asked = (await inventory.get("/_demo/requests")).json()["items"]

    assert reply.data["product"]["stock"] is None
    assert reply.data["product"]["category"] is not None
    assert reply.error_at("product", "stock")["extensions"] == {
        "code": "DOWNSTREAM_TIMEOUT",
        "service": "inventory",
    }
    # The service would hang for minutes: the call was given inventory's own 0.3 s, and
    # it was that timeout, not the operation's 2.5 s budget, that ended it.
    (stock,) = asked
    assert 0 < int(stock["headers"]["x-request-timeout-ms"]) <= 300
    assert reply.error_at("product", "stock")["message"].startswith(
        "inventory did not answer in time"
    )
    assert_no_leaks(reply)


async def test_a_field_that_calls_a_service_itself_times_out_alone() -> None:
    """A resolver that calls a client directly (not through a loader) runs in a task of
    its own: its call's timeout ends that call, not the request around it."""
    demo = build_services()
    catalog = demo["catalog"]
    env = {"BFF_CATALOG_TIMEOUT_MS": "200", "BFF_RETRY_ATTEMPTS": "1", "BFF_HEDGE": "false"}
    async with running_bff(env, demo=demo) as bff:
        catalog.faults.hold.catch(1)
        try:
            reply = await bff.query(
                '{ products(first: 2) { nodes { id } } user(id: "u1") { name } }'
            )
        finally:
            await catalog.faults.hold.release()

    assert reply.status == 200
    assert reply.data["user"] == {"name": DATA.users["u1"].name}
    assert reply.data["products"] is None
    assert reply.error_at("products")["extensions"]["code"] == "DOWNSTREAM_TIMEOUT"
