"""The demo services (and the demo identity provider), built together.

    services = build_services(["catalog", "reviews"], seed=42)
    transport = httpx.ASGITransport(app=services["catalog"].app)

Each call builds a fresh set: the generated data is shared (it is immutable and
cached per seed), the writes are not.
"""

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Protocol

from opentelemetry.sdk.trace import TracerProvider
from starlette.types import ASGIApp

from clients.registry import DOWNSTREAM
from demo.accounts import Accounts
from demo.app import ContractRoute, create_app
from demo.catalog import Catalog
from demo.data import generate
from demo.faults import Faults
from demo.identity import IdentityProvider
from demo.identity import create_app as identity_app
from demo.inventory import Inventory
from demo.orders import HEARTBEAT_S, Orders
from demo.recommendations import Recommendations
from demo.reviews import Reviews
from demo.stats import Stats
from demo.store import Store

SERVICE_NAMES: Final = tuple(service.name for service in DOWNSTREAM)
"""The services of the downstream contract, as the BFF's table declares them."""
IDENTITY: Final = "identity"
"""The demo identity provider, not part of the contract: it serves the JWKS."""
IDENTITY_PORT: Final = 8107
ALL_NAMES: Final = (*SERVICE_NAMES, IDENTITY)
DEFAULT_PORTS: Final[Mapping[str, int]] = MappingProxyType(
    {**{service.name: service.port for service in DOWNSTREAM}, IDENTITY: IDENTITY_PORT}
)
"""Where `python -m demo` serves each one: the ports the BFF's defaults point at."""


class _Service(Protocol):
    def routes(self) -> list[ContractRoute]: ...


_KINDS: Final[Mapping[str, Callable[[Store], _Service]]] = {
    "accounts": Accounts,
    "catalog": Catalog,
    "inventory": Inventory,
    "reviews": Reviews,
    "orders": Orders,
    "recommendations": Recommendations,
}


@dataclass(frozen=True, slots=True)
class DemoService:
    name: str
    app: ASGIApp
    faults: Faults
    stats: Stats


def build_services(
    names: Iterable[str] = SERVICE_NAMES,
    *,
    seed: int = 42,
    faults: Mapping[str, Faults] | None = None,
    order_step_seconds: float = 10.0,
    tracer_providers: Mapping[str, TracerProvider] | None = None,
    clock: Callable[[], float] = time.monotonic,
    heartbeat_s: float | None = HEARTBEAT_S,
) -> dict[str, DemoService]:
    """The named services (in the order given), sharing one new store.

    `faults` may configure some of them; the others get no faults, with draws seeded
    by their name. Services with a tracer provider make a span per contract request.
    `clock` moves orders along their statuses (tests step it by hand).
    `heartbeat_s` is the longest an order's event stream stays silent (None: no
    keep-alive comments). ValueError for an unknown service name.
    """
    wanted = list(dict.fromkeys(names))
    known = [*_KINDS, IDENTITY]
    unknown = [name for name in [*wanted, *(faults or {})] if name not in known]
    if unknown:
        raise ValueError(f"unknown service {unknown[0]!r}; known: {', '.join(ALL_NAMES)}")
    store = Store(generate(seed), order_step_seconds=order_step_seconds, clock=clock)
    services = {}
    for name in wanted:
        if name == IDENTITY:
            stats = Stats(["GET /.well-known/jwks.json"])
            identity = identity_app(IdentityProvider(), stats)
            services[name] = DemoService(name, identity, Faults.for_service(name), stats)
            continue
        kind = Orders(store, heartbeat_s=heartbeat_s) if name == "orders" else _KINDS[name](store)
        routes = kind.routes()
        stats = Stats(route.template for route in routes)
        service_faults = (faults or {}).get(name) or Faults.for_service(name)
        provider = (tracer_providers or {}).get(name)
        tracer = provider.get_tracer(f"demo.{name}") if provider is not None else None
        app = create_app(routes, stats, service_faults, tracer)
        services[name] = DemoService(name, app, service_faults, stats)
    return services
