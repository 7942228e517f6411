"""Hedged reads against the demo inventory service: a late read is asked again."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import httpx

from clients.base import PerId
from clients.breaker import State
from clients.errors import Timeout
from clients.hedging import HedgePolicy
from clients.http import ServiceConfig, open_http
from clients.inventory import InventoryClient, StockRecord
from clients.resilience import Resilience, ResiliencePolicy
from clients.retry import BudgetPolicy, RetryPolicy
from demo.services import DemoService, build_services


@dataclass
class Events:
    hedges: int = 0
    refused: list[str] = field(default_factory=list)

    def circuit_changed(self, service: str, old: State, new: State, why: str) -> None:
        pass

    def retried(self, service: str, reason: str) -> None:
        pass

    def retry_refused(self, service: str, limit: str) -> None:
        self.refused.append(limit)

    def hedged(self, service: str) -> None:
        self.hedges += 1


def inventory_client(service: DemoService, events: Events, budget: BudgetPolicy) -> InventoryClient:
    policy = ResiliencePolicy(
        retry=RetryPolicy(attempts=1),
        budget=budget,
        hedge=HedgePolicy(min_delay_s=0.05, min_samples=10),
    )
    config = ServiceConfig(base_url="http://inventory.test", timeout_s=0.5, resilience=policy)
    resilience = Resilience("inventory", policy, events=events)
    http = open_http(config, httpx.ASGITransport(app=service.app))
    return InventoryClient("inventory", http, config, resilience=resilience)


async def read_with_its_first_request_held(
    client: InventoryClient, service: DemoService
) -> PerId[StockRecord]:
    """Read p7's stock while the service holds the read's first request (never answered)."""
    service.stats.reset()
    service.faults.hold.catch(1)
    return await asyncio.wait_for(client.get_stock(["p7"]), 5)


async def test_a_late_read_is_hedged_and_the_first_answer_wins() -> None:
    service = build_services(["inventory"])["inventory"]
    events = Events()
    client = inventory_client(service, events, BudgetPolicy())
    for number in range(1, 21):  # teach the tracker what a normal answer takes
        await client.get_stock([f"p{number}"])

    stock = await read_with_its_first_request_held(client, service)

    record = stock["p7"]
    assert not isinstance(record, Exception)
    assert record.product_id == "p7"
    assert service.stats.total() == 2  # the held request and its hedge
    assert events.hedges == 1


async def test_without_budget_a_late_read_is_not_hedged() -> None:
    service = build_services(["inventory"])["inventory"]
    events = Events()
    client = inventory_client(service, events, BudgetPolicy(ratio=0, min_per_s=0))
    for number in range(1, 21):
        await client.get_stock([f"p{number}"])

    stock = await read_with_its_first_request_held(client, service)

    assert isinstance(stock["p7"], Timeout)
    assert service.stats.total() == 1
    assert (events.hedges, events.refused) == (0, ["budget"])


async def test_a_read_is_not_hedged_before_its_route_has_a_track_record() -> None:
    service = build_services(["inventory"])["inventory"]
    events = Events()
    client = inventory_client(service, events, BudgetPolicy())

    stock = await read_with_its_first_request_held(client, service)

    assert isinstance(stock["p7"], Timeout)
    assert service.stats.total() == 1
    assert events.hedges == 0
