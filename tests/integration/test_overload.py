"""Bulkheads per downstream service, and shedding load instead of queueing it."""

from __future__ import annotations

import asyncio

from bff.contract.examples import PRODUCT_PAGE
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
    catalog = demo["catalog"].faults.hold
    env = {"BFF_MAX_IN_FLIGHT": "2", "BFF_RESPONSE_CACHE": "false"}
    async with running_bff(env, demo=demo) as bff:
        # Two operations in flight, held at the catalog until the others have been turned away.
        catalog.catch(2)
        running = [asyncio.create_task(bff.run(PRODUCT_PAGE, id=f"p{n}")) for n in (1, 2)]
        await catalog.caught(2)
        shed = await asyncio.gather(*(bff.run(PRODUCT_PAGE, id=f"p{n}") for n in (3, 4, 5)))
        await catalog.release()
        answered = await asyncio.gather(*running)
        after = await bff.run(PRODUCT_PAGE, id="p1")
        metrics = await bff.metrics()

    assert [reply.status for reply in answered] == [200, 200]
    assert all("errors" not in reply.body for reply in answered)
    for reply in shed:
        assert reply.status == 503
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
