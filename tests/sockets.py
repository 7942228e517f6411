"""A BFF and the demo services on loopback ports, and a GraphQL-over-WebSocket client.

Orders move along their statuses only when a test steps the demo's clock, so
each status change happens when the test says, without waiting on timers.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import cast

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from bff.config.settings import Settings
from bff.http.app import create_app
from bff.pipeline.lifecycle import Lifecycle
from demo.orders import HEARTBEAT_S
from demo.services import ALL_NAMES, IDENTITY, SERVICE_NAMES, DemoService, build_services
from tests.harness import Clock, Harness, Json, sample, signed_in
from tests.served import Served, serving

STEP = 1 / 16
"""Seconds of the demo clock per order status: a power of two, so clock sums stay exact."""
PATIENCE_S = 10
"""How long a test waits for a message before it fails (never reached when all is well)."""
POLL_S = 0.01


class Socket:
    """One client connection: JSON messages in and out."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    async def send(self, message: Json) -> None:
        await self.connection.send(orjson.dumps(message).decode())

    async def receive(self) -> Json:
        async with asyncio.timeout(PATIENCE_S):
            return orjson.loads(await self.connection.recv())

    async def closed(self) -> tuple[int | None, str]:
        """Wait for the server to close; its close code and reason."""
        async with asyncio.timeout(PATIENCE_S):
            try:
                while True:
                    await self.connection.recv()
            except ConnectionClosed as closed:
                if closed.rcvd is None:
                    return None, ""
                return closed.rcvd.code, closed.rcvd.reason

    async def initialise(self, user_id: str | None = "u1") -> dict[str, str]:
        """Open the session as `user_id` (None: anonymously); the payload sent."""
        payload = signed_in(user_id) if user_id else {}
        await self.send({"type": "connection_init", "payload": payload})
        assert await self.receive() == {"type": "connection_ack"}
        return payload

    async def subscribe(
        self, operation: str, query: str, order_id: str, *, kind: str = "subscribe"
    ) -> None:
        payload = {"query": query, "variables": {"orderId": order_id}}
        await self.send({"type": kind, "id": operation, "payload": payload})


class WallClock:
    """The wall clock as the BFF reads it for token expiry; a test may set it."""

    def __init__(self) -> None:
        self.now: float | None = None
        """None: the real time."""

    def __call__(self) -> float:
        return time.time() if self.now is None else self.now


@dataclass
class Stack:
    bff: Served
    http: Harness
    """Plain HTTP to the BFF (`/metrics`, `/graphql`) and the demo services' stats."""
    downstream: dict[str, Served]
    demo: dict[str, DemoService]
    clock: Clock
    lifecycle: Lifecycle
    wall: WallClock

    @asynccontextmanager
    async def socket(
        self,
        protocols: Sequence[str] = ("graphql-transport-ws",),
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[Socket]:
        url = self.bff.url.replace("http://", "ws://") + "/graphql"
        async with connect(
            url,
            subprotocols=[cast(Subprotocol, protocol) for protocol in protocols],
            additional_headers=dict(headers or {}),
            open_timeout=PATIENCE_S,
        ) as connection:
            yield Socket(connection)

    async def place_order(self, user_id: str = "u1") -> str:
        """A new order, placed straight at the orders service; its id."""
        async with httpx.AsyncClient(base_url=self.downstream["orders"].url) as orders:
            response = await orders.post(
                "/orders",
                json={"userId": user_id, "lines": [{"productId": "p1", "quantity": 1}]},
                headers={"idempotency-key": uuid.uuid4().hex},
            )
        response.raise_for_status()
        # Half a step on, so that whole steps later the clock is never on a boundary.
        self.clock.now += STEP / 2
        order_id: str = response.json()["id"]
        return order_id

    def step(self) -> None:
        """Move every order in progress one status on."""
        self.clock.now += STEP

    def streams_open(self) -> int:
        """Event streams the orders service is serving now."""
        return self.demo["orders"].stats.in_flight

    def streams_opened(self) -> int:
        """Event streams the orders service has been asked for so far."""
        return self.demo["orders"].stats.by_route()["GET /orders/{id}/events"]

    async def metric_reaches(self, value: float, name: str, **labels: str) -> None:
        """Scrape `/metrics` until the sample `name` has `value`; fail after `PATIENCE_S`."""
        for _ in range(round(PATIENCE_S / POLL_S)):
            if sample(await self.http.metrics(), name, **labels) == value:
                return
            await asyncio.sleep(POLL_S)
        raise AssertionError(f"{name} never reached {value}")


@asynccontextmanager
async def subscribable_bff(
    env: Mapping[str, str] | None = None, *, heartbeat_s: float | None = HEARTBEAT_S
) -> AsyncIterator[Stack]:
    """The BFF (settings from `env`) and every demo service, each on a loopback port.

    `heartbeat_s` is the longest the orders service's event streams stay silent
    (None: they send nothing between status changes).
    """
    clock = Clock()
    wall = WallClock()
    demo = build_services(ALL_NAMES, order_step_seconds=STEP, clock=clock, heartbeat_s=heartbeat_s)
    async with serving({name: service.app for name, service in demo.items()}) as downstream:
        wired = {f"BFF_{name.upper()}_URL": downstream[name].url for name in SERVICE_NAMES}
        wired["BFF_AUTH_JWKS_URL"] = f"{downstream[IDENTITY].url}/.well-known/jwks.json"
        wired["BFF_USAGE_SINK"] = "none"  # usage events are tested elsewhere
        settings = Settings.from_environ({**wired, **(env or {})})
        app = create_app(settings, wall_clock=wall)
        async with (
            # The frame limit `bff serve` sets (bff/cli/serve.py).
            serving(
                {"bff": app}, lifespan=True, ws_max_size=settings.limits.max_body_bytes
            ) as front,
            httpx.AsyncClient(base_url=front["bff"].url) as http,
        ):
            lifecycle = app.state.lifecycle
            assert isinstance(lifecycle, Lifecycle)
            yield Stack(front["bff"], Harness(http, demo), downstream, demo, clock, lifecycle, wall)


async def eventually(check: Callable[[], bool]) -> None:
    """Poll `check()` until it holds; fail after `PATIENCE_S`."""
    for _ in range(round(PATIENCE_S / POLL_S)):
        if check():
            return
        await asyncio.sleep(POLL_S)
    raise AssertionError("the condition never held")
