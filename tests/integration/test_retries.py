"""Idempotent downstream calls are retried, within policy, deadline and retry budget."""

from __future__ import annotations

from bff.contract.examples import PRODUCT_PAGE
from demo.services import ALL_NAMES, build_services
from tests.harness import Clock, Harness, running_bff, sample, signed_in
from tests.integration.test_mutations import ADD_REVIEW, PLACE_ORDER

STOCK = "query Stock($id: ID!) { product(id: $id) { stock { available } } }"
NO_HEDGING = {"BFF_HEDGE": "false"}


async def read_stock_of_many_products(bff: Harness, count: int) -> int:
    """Read the stock of `count` distinct products one after another; how many answered."""
    answered = 0
    for number in range(1, count + 1):
        reply = await bff.query(STOCK, {"id": f"p{number}"})
        answered += reply.data["product"]["stock"] is not None
    return answered


async def test_retries_recover_most_reads_from_a_flapping_service() -> None:
    demo = build_services(ALL_NAMES)
    demo["inventory"].faults.error_rate = 0.5
    env = {**NO_HEDGING, "BFF_RETRY_BUDGET_PERCENT": "100"}
    async with running_bff(env, demo=demo) as bff:
        answered = await read_stock_of_many_products(bff, 200)
        metrics = await bff.metrics()

    calls = demo["inventory"].stats.by_route()["GET /stock"]
    # Half the attempts fail: one try would answer about 100 of 200; three answer most.
    assert answered >= 170
    assert 200 < calls <= 3 * 200
    retried = sample(metrics, "bff_downstream_retries_total", service="inventory", reason="503")
    assert retried == calls - 200


async def test_the_retry_budget_caps_the_extra_load_on_a_flapping_service() -> None:
    demo = build_services(ALL_NAMES)
    demo["inventory"].faults.error_rate = 0.5
    # A clock that stands still: however long the reads take, they fall in one window.
    async with running_bff(NO_HEDGING, demo=demo, clock=Clock()) as bff:
        answered = await read_stock_of_many_products(bff, 200)
        metrics = await bff.metrics()

    calls = demo["inventory"].stats.by_route()["GET /stock"]
    # The default budget: 10% of 200 calls, plus one retry per second of the 10 s window.
    assert 200 < calls <= 200 + 20 + 10
    assert answered <= 100 + (calls - 200)
    refused = sample(
        metrics, "bff_downstream_retries_refused_total", service="inventory", limit="budget"
    )
    assert refused > 0


async def test_retry_after_is_honoured_between_attempts() -> None:
    demo = build_services(ALL_NAMES)
    demo["inventory"].faults.error_rate = 1.0
    demo["inventory"].faults.retry_after_s = 1
    env = {**NO_HEDGING, "BFF_RETRY_ATTEMPTS": "2"}
    async with running_bff(env, demo=demo) as bff:
        reply = await bff.query(PRODUCT_PAGE.query, {"id": "p1"}, headers={"x-bff-debug": "1"})

    attempts = [
        call
        for call in reply.body["extensions"]["debug"]["downstream"]
        if call["service"] == "inventory"
    ]
    assert [call.get("attempt", 1) for call in attempts] == [1, 2]
    first, second = attempts
    assert second["startMs"] - (first["startMs"] + first["durationMs"]) >= 1000
    assert reply.error_at("product", "stock")["extensions"]["code"] == "DOWNSTREAM_UNAVAILABLE"


async def test_a_retry_after_beyond_the_deadline_ends_the_attempts() -> None:
    demo = build_services(ALL_NAMES)
    demo["inventory"].faults.error_rate = 1.0
    demo["inventory"].faults.retry_after_s = 30
    async with running_bff(NO_HEDGING, demo=demo) as bff:
        reply = await bff.run(PRODUCT_PAGE, id="p1")
        metrics = await bff.metrics()

    assert demo["inventory"].stats.by_route()["GET /stock"] == 1
    assert reply.error_at("product", "stock")["extensions"]["code"] == "DOWNSTREAM_UNAVAILABLE"
    assert (
        sample(
            metrics, "bff_downstream_retries_refused_total", service="inventory", limit="deadline"
        )
        == 1
    )


async def test_writes_are_retried_only_with_an_idempotency_key() -> None:
    demo = build_services(ALL_NAMES)
    demo["reviews"].faults.error_rate = 1.0
    demo["orders"].faults.error_rate = 1.0
    async with running_bff(NO_HEDGING, demo=demo) as bff:
        review = await bff.query(
            ADD_REVIEW,
            {"input": {"productId": "p2", "rating": 4, "body": "Fine."}},
            headers=signed_in("u3"),
        )
        order = await bff.query(
            PLACE_ORDER,
            {"input": {"lines": [{"productId": "p1", "quantity": 1}]}, "key": "order-123"},
            headers=signed_in("u3"),
        )

    assert review.error_at("addReview")["extensions"]["code"] == "DOWNSTREAM_UNAVAILABLE"
    assert order.error_at("placeOrder")["extensions"]["code"] == "DOWNSTREAM_UNAVAILABLE"
    # POST /reviews carries no Idempotency-Key: sending it twice could write twice.
    assert demo["reviews"].stats.by_route()["POST /reviews"] == 1
    assert demo["orders"].stats.by_route()["POST /orders"] == 3
