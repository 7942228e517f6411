"""The table of downstream services, and the set of clients one BFF process owns.

Each service is declared once, as a `Service` attribute of `Clients`: its name,
client class, default port and health path. From that one line come the
client the registry opens, the `BFF_<NAME>_*` settings and their defaults, the
/readyz probe, and the port the demo serves it on (docs/adding-a-service.md).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar, cast, overload

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

C = TypeVar("C", bound=ServiceClient, covariant=True)
_C = TypeVar("_C", bound=ServiceClient)


@dataclass(frozen=True, slots=True)
class Service(Generic[C]):
    """One downstream service: everything the BFF needs to know to reach it.

    As an attribute of `Clients` it reads as that service's client.
    """

    name: str
    client: type[C]
    port: int
    """Where the demo serves it; BFF_<NAME>_URL defaults to http://127.0.0.1:<port>."""
    health_path: str = "/healthz"
    """What /readyz probes (the default of BFF_<NAME>_HEALTH_PATH)."""
    streams: bool = False
    """The client also opens a wire for event streams (`streams=`, `slots=`)."""

    @property
    def default_url(self) -> str:
        """Where the BFF looks for it unless BFF_<NAME>_URL says otherwise."""
        return f"http://127.0.0.1:{self.port}"

    @overload
    def __get__(self, clients: None, owner: type[Clients]) -> Service[C]: ...

    @overload
    def __get__(self, clients: Clients, owner: type[Clients]) -> C: ...

    def __get__(self, clients: Clients | None, owner: type[Clients]) -> Service[C] | C:
        return self if clients is None else clients[self]


class Clients:
    """One client per downstream service. Each `Service` below declares one service."""

    accounts = Service("accounts", AccountsClient, port=8101)
    catalog = Service("catalog", CatalogClient, port=8102)
    inventory = Service("inventory", InventoryClient, port=8103)
    reviews = Service("reviews", ReviewsClient, port=8104)
    orders = Service("orders", OrdersClient, port=8105, streams=True)
    recommendations = Service("recommendations", RecommendationsClient, port=8106)

    __slots__ = ("_by_name",)

    def __init__(self, by_name: Mapping[str, ServiceClient]) -> None:
        self._by_name = dict(by_name)

    def __getitem__(self, service: Service[_C]) -> _C:
        return cast(_C, self._by_name[service.name])

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def all(self) -> dict[str, ServiceClient]:
        return dict(self._by_name)

    def scoped(self, scope: CallScope) -> Clients:
        """Copies bound to one request's scope, sharing pools and caps."""
        return Clients({name: client.scoped(scope) for name, client in self._by_name.items()})

    async def aclose(self) -> None:
        await asyncio.gather(*(client.aclose() for client in self._by_name.values()))

    def circuits(self) -> dict[str, State]:
        """Each service's circuit-breaker state."""
        return {name: client.resilience.breaker.state for name, client in self._by_name.items()}


DOWNSTREAM: tuple[Service[ServiceClient], ...] = tuple(
    value for value in vars(Clients).values() if isinstance(value, Service)
)
"""The table: every declared service, in declaration order."""
SERVICES = tuple(service.name for service in DOWNSTREAM)


def open_clients(
    configs: Mapping[str, ServiceConfig],
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    cache: SharedCache | None = None,
    wrap: WireWrapper | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
    events: ResilienceEvents | None = None,
    stream_slots: StreamSlots | None = None,
    services: Sequence[Service[ServiceClient]] = DOWNSTREAM,
) -> Clients:
    """Open one pooled client per service of `services`, all sharing `cache` (None: none).

    `configs` holds each service's settings, by name; `transports` replaces the
    network in tests; `wrap` wraps every wire; `clock` drives breakers and
    retry budgets; `events` hears what they do; `stream_slots` caps the event
    streams open at once (None: no cap).
    """

    def one(service: Service[ServiceClient]) -> ServiceClient:
        name = service.name
        config = configs[name]
        transport = (transports or {}).get(name)
        resilience = Resilience(name, config.resilience, clock=clock, events=events)
        wire = open_http(config, transport, service=name, wrap=wrap)
        if not service.streams:
            return service.client(name, wire, config, cache, resilience)
        streams = open_http(config, transport, service=name, wrap=wrap, streaming=True)
        opened: ServiceClient = service.client(  # type: ignore[call-arg]
            name, wire, config, cache, resilience, streams=streams, slots=stream_slots
        )
        return opened

    return Clients({service.name: one(service) for service in services})
