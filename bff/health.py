"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine

from starlette.requests import Request
from starlette.responses import JSONResponse

from bff.lifecycle import Lifecycle
from clients.registry import Clients

_NO_STORE = {"cache-control": "no-store"}


async def healthz(request: Request) -> JSONResponse:
    """The process is alive and serving HTTP."""
    return JSONResponse({"status": "ok"})


class Readiness:
    """Ready when every downstream service answers its health path in time.

    While the process drains for shutdown it is not ready, whatever the
    services say. The body also shows each service's circuit breaker.
    """

    def __init__(
        self, clients: Callable[[], Clients], timeout_s: float, lifecycle: Lifecycle
    ) -> None:
        self._clients = clients
        self._timeout_s = timeout_s
        self._lifecycle = lifecycle

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
        body = {
            "status": "unavailable" if down else "ready",
            "services": status,
            "circuits": clients.circuits(),
        }
        if down:
            body["down"] = down
        return JSONResponse(body, status_code=503 if down else 200, headers=_NO_STORE)

    async def _probe(self, ping: Coroutine[object, object, bool]) -> bool:
        try:
            return await asyncio.wait_for(ping, self._timeout_s)
        except TimeoutError:
            return False
