"""A circuit breaker per downstream service: fail fast while it is sick, recover by itself."""

from __future__ import annotations

import logging

import httpx
import pytest

from bff.contract.examples import PRODUCT_PAGE
from demo.launch import free_port
from demo.services import ALL_NAMES, build_services
from tests.harness import Clock, running_bff, sample

BREAKER = {
    "BFF_BREAKER_MIN_CALLS": "5",
    "BFF_BREAKER_OPEN_MS": "5000",
    "BFF_BREAKER_PROBES": "2",
    "BFF_RETRY_ATTEMPTS": "1",
    "BFF_HEDGE": "false",
    "BFF_RESPONSE_CACHE": "false",
    "BFF_DOWNSTREAM_CACHE": "false",
}


async def test_a_dead_service_opens_the_breaker_which_closes_once_it_is_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bff.observability.protections")
    demo = build_services(ALL_NAMES)
    inventory = demo["inventory"]
    inventory.faults.error_rate = 1.0
    clock = Clock()
    async with running_bff(BREAKER, demo=demo, clock=clock) as bff:
        for _ in range(5):
            failing = await bff.run(PRODUCT_PAGE, id="p1")
        assert failing.error_at("product", "stock")["message"] == (
            "inventory is unavailable (HTTP 503)"
        )
        assert inventory.stats.total() == 5

        # Open: later calls fail at once, without reaching the service.
        fast = [await bff.run(PRODUCT_PAGE, id="p1") for _ in range(3)]
        assert inventory.stats.total() == 5
        for reply in fast:
            assert reply.data["product"]["name"]
            assert reply.error_at("product", "stock") == {
                "message": "inventory is unavailable (failing fast while it recovers)",
                "locations": [{"line": 6, "column": 5}],
                "path": ["product", "stock"],
                "extensions": {"code": "DOWNSTREAM_UNAVAILABLE", "service": "inventory"},
            }
        ready = await bff.http.get("/readyz")
        assert ready.json()["circuits"]["inventory"] == "open"
        assert ready.json()["circuits"]["catalog"] == "closed"
        opened = await bff.metrics()

        # The service recovers; after the open period two probes close the breaker.
        inventory.faults.error_rate = 0.0
        clock.now += 5
        probes = [await bff.run(PRODUCT_PAGE, id="p1") for _ in range(2)]
        assert all(reply.data["product"]["stock"] is not None for reply in probes)
        assert inventory.stats.total() == 7
        closed = (await bff.http.get("/readyz")).json()["circuits"]["inventory"]
        recovered = await bff.metrics()

    assert closed == "closed"
    assert sample(opened, "bff_circuit_state", service="inventory", state="open") == 1
    assert sample(opened, "bff_circuit_state", service="inventory", state="closed") == 0
    for state, count in (("open", 1), ("half-open", 1), ("closed", 1)):
        assert (
            sample(recovered, "bff_circuit_transitions_total", service="inventory", state=state)
            == count
        )
    messages = [
        record.getMessage()
        for record in caplog.records
        if record.name == "bff.observability.protections"
    ]
    assert messages == [
        "circuit for inventory opened: 5 of the last 5 calls failed",
        "circuit for inventory half-open: 5 s passed; probing",
        "circuit for inventory closed: 2 probes succeeded",
    ]


async def test_a_refused_connection_opens_the_breaker_and_stops_the_dialling() -> None:
    closed_port = free_port()
    dialled = 0

    class Counting(httpx.AsyncHTTPTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            nonlocal dialled
            dialled += 1
            return await super().handle_async_request(request)

    env = {**BREAKER, "BFF_INVENTORY_URL": f"http://127.0.0.1:{closed_port}"}
    async with running_bff(env, transports={"inventory": Counting()}) as bff:
        for _ in range(12):
            reply = await bff.run(PRODUCT_PAGE, id="p1")
            assert reply.data["product"]["name"]
            assert reply.error_at("product", "stock")["extensions"]["code"] == (
                "DOWNSTREAM_UNAVAILABLE"
            )
        assert dialled == 5
        ready = await bff.http.get("/readyz")

    # /readyz still probes the health path: that is how ops see the service is down.
    assert ready.json()["services"]["inventory"] == "down"
    assert ready.json()["circuits"]["inventory"] == "open"


async def test_client_errors_do_not_count_against_a_service() -> None:
    env = {**BREAKER, "BFF_BREAKER_MIN_CALLS": "3"}
    async with running_bff(env) as bff:
        for number in range(6):
            reply = await bff.query(
                "query P($id: ID!) { product(id: $id) { name } }", {"id": f"p99999{number}"}
            )
            assert reply.codes() == ["NOT_FOUND"]
        circuits = (await bff.http.get("/readyz")).json()["circuits"]

    assert circuits["catalog"] == "closed"
