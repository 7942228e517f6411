"""The set of downstream clients one BFF process owns."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields

import httpx

from clients.accounts import AccountsClient
from clients.base import ServiceClient
from clients.breaker import State
from clients.cache import SharedCache
from clients.catalog import CatalogClient
from clients.http import CallScope, ServiceConfig, WireWrapper, open_http
from clients.inventory import InventoryClient
from clients.orders import OrdersClient
from clients.recommendations import RecommendationsClient
from clients.resilience import Resilience, ResilienceEvents
from clients.reviews import ReviewsClient
from clients.streams import StreamSlots
from clients.wire import Wire

SERVICES = ("accounts", "catalog", "inventory", "reviews", "orders", "recommendations")


@dataclass(frozen=True, slots=True)
class Clients:
    """One client per downstream service; the field names are the service names."""

    accounts: AccountsClient
    catalog: CatalogClient
    inventory: InventoryClient
    reviews: ReviewsClient
    orders: OrdersClient
    recommendations: RecommendationsClient

    def all(self) -> dict[str, ServiceClient]:
        return {item.name: getattr(self, item.name) for item in fields(self)}

    def scoped(self, scope: CallScope) -> Clients:
        """Copies bound to one request's scope, sharing pools and caps."""
        return Clients(
            accounts=self.accounts.scoped(scope),
            catalog=self.catalog.scoped(scope),
            inventory=self.inventory.scoped(scope),
            reviews=self.reviews.scoped(scope),
            orders=self.orders.scoped(scope),
            recommendations=self.recommendations.scoped(scope),
        )

    async def aclose(self) -> None:
        await asyncio.gather(*(client.aclose() for client in self.all().values()))

    def circuits(self) -> dict[str, State]:
        """Each service's circuit-breaker state."""
        return {name: client.resilience.breaker.state for name, client in self.all().items()}


def open_clients(
    configs: Mapping[str, ServiceConfig],
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    cache: SharedCache | None = None,
    wrap: WireWrapper | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
    events: ResilienceEvents | None = None,
    stream_slots: StreamSlots | None = None,
) -> Clients:
    """Open one pooled client per service, all sharing `cache` (None: no caching).

    `transports` replaces the network in tests; `wrap` wraps every wire;
    `clock` drives breakers and retry budgets; `events` hears what they do;
    `stream_slots` caps the event streams open at once (None: no cap).
    """

    def http(service: str) -> tuple[str, Wire, ServiceConfig, SharedCache | None, Resilience]:
        config = configs[service]
        transport = (transports or {}).get(service)
        resilience = Resilience(service, config.resilience, clock=clock, events=events)
        client = open_http(config, transport, service=service, wrap=wrap)
        return service, client, config, cache, resilience

    return Clients(
        accounts=AccountsClient(*http("accounts")),
        catalog=CatalogClient(*http("catalog")),
        inventory=InventoryClient(*http("inventory")),
        reviews=ReviewsClient(*http("reviews")),
        orders=OrdersClient(
            *http("orders"),
            streams=open_http(
                configs["orders"],
                (transports or {}).get("orders"),
                service="orders",
                wrap=wrap,
                streaming=True,
            ),
            slots=stream_slots,
        ),
        recommendations=RecommendationsClient(*http("recommendations")),
    )
