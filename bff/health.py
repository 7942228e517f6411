"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine

from starlette.requests import Request
from starlette.responses import JSONResponse

from clients.registry import Clients


async def healthz(request: Request) -> JSONResponse:
    """The process is alive and serving HTTP."""
    return JSONResponse({"status": "ok"})


class Readiness:
    """Ready when every downstream service answers its health path in time."""

    def __init__(self, clients: Callable[[], Clients], timeout_s: float) -> None:
        self._clients = clients
        self._timeout_s = timeout_s

    async def readyz(self, request: Request) -> JSONResponse:
        services = self._clients().all()
        answers = await asyncio.gather(
            *(self._probe(client.ping()) for client in services.values())
        )
        status = {name: "up" if up else "down" for name, up in zip(services, answers, strict=True)}
        down = [name for name, state in status.items() if state == "down"]
        body: dict[str, object] = {
            "status": "unavailable" if down else "ready",
            "services": status,
        }
        if down:
            body["down"] = down
        return JSONResponse(body, status_code=503 if down else 200)

    async def _probe(self, ping: Coroutine[object, object, bool]) -> bool:
        try:
            return await asyncio.wait_for(ping, self._timeout_s)
        except TimeoutError:
            return False
