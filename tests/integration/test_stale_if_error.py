"""Stale-if-error: a failed read falls back to an expired cached answer, and says so."""

from __future__ import annotations

from bff.contract.examples import CATEGORY_LISTING, PRODUCT_PAGE
from demo.services import ALL_NAMES, build_services
from tests.harness import Clock, running_bff, sample

TWO_STOCKS = """query TwoStocks {
  a: product(id: "p1") { stock { available } }
  b: product(id: "p2") { stock { available } }
}"""


async def test_an_expired_answer_stands_in_for_a_failed_read_and_is_marked() -> None:
    demo = build_services(ALL_NAMES)
    clock = Clock()
    async with running_bff(demo=demo, clock=clock) as bff:
        fresh = await bff.run(PRODUCT_PAGE, id="p1")
        clock.now += 30  # stock is fresh for 5 s: now 25 s past its expiry
        demo["inventory"].faults.error_rate = 1.0
        stale = await bff.run(PRODUCT_PAGE, id="p1")
        metrics = await bff.metrics()

    assert "errors" not in stale.body
    assert stale.data == fresh.data
    assert stale.body["extensions"]["degraded"] == [
        {
            "path": ["product", "stock"],
            "service": "inventory",
            "ageSeconds": 30,
            "reason": "DOWNSTREAM_UNAVAILABLE",
        }
    ]
    # Out-of-date data must not be cached as if it were current.
    assert stale.headers["cache-control"] == "no-store"
    assert demo["inventory"].stats.total() > 1  # the service was asked first
    assert (
        sample(
            metrics, "bff_stale_served_total", service="inventory", reason="DOWNSTREAM_UNAVAILABLE"
        )
        == 1
    )
    assert (
        sample(
            metrics,
            "bff_graphql_requests_total",
            operation_name="ProductPage",
            operation_type="query",
            client_name="unknown",
            client_version="unknown",
            outcome="degraded",
        )
        == 1
    )


async def test_nothing_stale_is_served_past_the_window() -> None:
    demo = build_services(ALL_NAMES)
    clock = Clock()
    async with running_bff({"BFF_STALE_IF_ERROR_S": "60"}, demo=demo, clock=clock) as bff:
        await bff.run(PRODUCT_PAGE, id="p1")
        clock.now += 5 + 61
        demo["inventory"].faults.error_rate = 1.0
        reply = await bff.run(PRODUCT_PAGE, id="p1")

    assert reply.data["product"]["stock"] is None
    assert reply.codes() == ["DOWNSTREAM_UNAVAILABLE"]
    assert "extensions" not in reply.body


async def test_every_field_a_stale_batch_answered_is_named() -> None:
    demo = build_services(ALL_NAMES)
    clock = Clock()
    async with running_bff(demo=demo, clock=clock) as bff:
        fresh = await bff.run(CATEGORY_LISTING, category="c1")
        clock.now += 40  # reviews are fresh for 30 s; the catalog's 60 s still hold
        demo["reviews"].faults.error_rate = 1.0
        stale = await bff.run(CATEGORY_LISTING, category="c1")

    assert "errors" not in stale.body
    assert stale.data == fresh.data
    degraded = stale.body["extensions"]["degraded"]
    assert len(degraded) == 100  # rating and reviews of each of the 50 products
    assert {entry["service"] for entry in degraded} == {"reviews"}
    assert {entry["ageSeconds"] for entry in degraded} == {40}
    assert degraded[:3] == [
        {
            "path": ["products", "edges", 0, "node", "rating"],
            "service": "reviews",
            "ageSeconds": 40,
            "reason": "DOWNSTREAM_UNAVAILABLE",
        },
        {
            "path": ["products", "edges", 0, "node", "reviews"],
            "service": "reviews",
            "ageSeconds": 40,
            "reason": "DOWNSTREAM_UNAVAILABLE",
        },
        {
            "path": ["products", "edges", 1, "node", "rating"],
            "service": "reviews",
            "ageSeconds": 40,
            "reason": "DOWNSTREAM_UNAVAILABLE",
        },
    ]


async def test_in_one_batch_stale_ids_are_served_and_the_others_fail() -> None:
    demo = build_services(ALL_NAMES)
    clock = Clock()
    async with running_bff(demo=demo, clock=clock) as bff:
        await bff.query('{ product(id: "p1") { stock { available } } }')
        clock.now += 10
        demo["inventory"].faults.error_rate = 1.0
        reply = await bff.query(TWO_STOCKS)

    assert reply.data["a"]["stock"] is not None
    assert reply.data["b"]["stock"] is None
    assert reply.codes() == ["DOWNSTREAM_UNAVAILABLE"]
    assert reply.error_at("b", "stock")["extensions"]["service"] == "inventory"
    assert reply.body["extensions"]["degraded"] == [
        {
            "path": ["a", "stock"],
            "service": "inventory",
            "ageSeconds": 10,
            "reason": "DOWNSTREAM_UNAVAILABLE",
        }
    ]


async def test_stale_fields_are_named_under_graphql_cores_executor_too() -> None:
    demo = build_services(ALL_NAMES)
    clock = Clock()
    env = {"BFF_PLANNED_EXECUTION": "false", "BFF_OPERATION_BUDGET_MS": "500"}
    async with running_bff(env, demo=demo, clock=clock) as bff:
        await bff.run(PRODUCT_PAGE, id="p1")
        clock.now += 30
        demo["inventory"].faults.hang_rate = 1.0
        demo["inventory"].faults.hang_seconds = 5
        reply = await bff.query(PRODUCT_PAGE.query, {"id": "p1"}, headers={"x-bff-debug": "1"})

    assert "errors" not in reply.body
    assert reply.body["extensions"]["degraded"] == [
        {
            "path": ["product", "stock"],
            "service": "inventory",
            "ageSeconds": 30,
            "reason": "DOWNSTREAM_TIMEOUT",
        }
    ]
    sources = [call["source"] for call in reply.body["extensions"]["debug"]["downstream"]]
    assert "stale" in sources
