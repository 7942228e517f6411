"""Bulkheads per downstream service, and shedding load instead of queueing it."""

from __future__ import annotations

import asyncio

from bff.examples import PRODUCT_PAGE
from demo.services import ALL_NAMES, build_services
from tests.harness import running_bff, sample


async def test_a_hanging_service_takes_only_its_own_connections() -> None:
    demo = build_services(ALL_NAMES)
    demo["inventory"].faults.hang_rate = 1.0
    env = {
        "BFF_INVENTORY_MAX_CONNECTIONS": "2",
        # Long enough for the other services to answer on a busy machine.
        "BFF_OPERATION_BUDGET_MS": "2000",
        "BFF_RETRY_ATTEMPTS": "1",
        "BFF_HEDGE": "false",
        "BFF_RESPONSE_CACHE": "false",
    }
    async with running_bff(env, demo=demo) as bff:
        replies = await asyncio.gather(
            *(bff.run(PRODUCT_PAGE, id=f"p{number}") for number in range(1, 9))
        )

    for reply in replies:
        product = reply.data["product"]
        assert product["name"]
        assert product["rating"] is not None
        assert product["reviews"] is not None
        assert all(review["author"] is not None for review in product["reviews"])
        assert product["stock"] is None
        assert reply.codes() == ["DOWNSTREAM_TIMEOUT"]
    # Two calls held inventory's two slots until their budget ran out; the others
    # waited for a slot instead of opening more connections to a stuck service.
    assert demo["inventory"].stats.peak_in_flight == 2


async def test_operations_beyond_the_in_flight_cap_are_refused_at_once() -> None:
    demo = build_services(ALL_NAMES)
    demo["catalog"].faults.latency_ms = 200
    env = {"BFF_MAX_IN_FLIGHT": "2", "BFF_RESPONSE_CACHE": "false"}
    async with running_bff(env, demo=demo) as bff:
        replies = await asyncio.gather(
            *(bff.run(PRODUCT_PAGE, id=f"p{number}") for number in range(1, 6))
        )
        after = await bff.run(PRODUCT_PAGE, id="p1")
        metrics = await bff.metrics()

    answered = [reply for reply in replies if reply.status == 200]
    shed = [reply for reply in replies if reply.status == 503]
    assert (len(answered), len(shed)) == (2, 3)
    for reply in shed:
        assert reply.headers["retry-after"] == "1"
        assert reply.headers["cache-control"] == "no-store"
        assert reply.body == {
            "errors": [
                {
                    "message": "The server is at capacity: retry in a moment.",
                    "extensions": {"code": "SERVICE_OVERLOADED"},
                }
            ]
        }
    assert after.status == 200
    assert sample(metrics, "bff_requests_shed_total") == 3
