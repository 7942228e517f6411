"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine

from starlette.requests import Request
from starlette.responses import JSONResponse

from bff.pipeline.lifecycle import Lifecycle
from clients.registry import Clients

_NO_STORE = {"cache-control": "no-store"}


async def healthz(request: Request) -> JSONResponse:
    """The process is alive and serving HTTP."""
    return JSONResponse({"status": "ok"})


class Readiness:
    """Ready when the services that gate readiness answer their health paths in time.

    `required` names those services (None: all). Gating on none suits
    production: a downstream outage then degrades answers instead of taking
    every replica out of the load balancer at once. Every service's state, and
    its circuit breaker, is reported either way. While the process drains for
    shutdown it is not ready, whatever the services say.
    """

    def __init__(
        self,
        clients: Callable[[], Clients],
        timeout_s: float,
        lifecycle: Lifecycle,
        required: frozenset[str] | None = None,
    ) -> None:
        self._clients = clients
        self._timeout_s = timeout_s
        self._lifecycle = lifecycle
        self._required = required

    async def readyz(self, request: Request) -> JSONResponse:
        clients = self._clients()
        if self._lifecycle.draining:
            body = {"status": "draining", "circuits": clients.circuits()}
            return JSONResponse(body, status_code=503, headers=_NO_STORE)
        services = clients.all()
        answers = await asyncio.gather(
            *(self._probe(client.ping()) for client in services.values())
        )
        status = {name: "up" if up else "down" for name, up in zip(services, answers, strict=True)}
        down = [name for name, state in status.items() if state == "down"]
        blocking = [name for name in down if self._required is None or name in self._required]
        body = {
            "status": "unavailable" if blocking else "ready",
            "services": status,
            "circuits": clients.circuits(),
        }
        if down:
            body["down"] = down
        return JSONResponse(body, status_code=503 if blocking else 200, headers=_NO_STORE)

    async def _probe(self, ping: Coroutine[object, object, bool]) -> bool:
        try:
            return await asyncio.wait_for(ping, self._timeout_s)
        except TimeoutError:
            return False
