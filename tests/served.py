"""ASGI apps served by uvicorn on loopback ports, inside the test's own event loop.

For tests where the socket matters (WebSockets, streamed responses, which
`httpx.ASGITransport` would buffer whole) but the apps' state must stay at
hand: the demo services' stats and clock, the BFF's lifecycle.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Generator, Mapping
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None]:
        yield  # signals stay with pytest


@dataclass
class Served:
    server: uvicorn.Server
    task: asyncio.Task[None]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.servers[0].sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        """Stop accepting, give open requests a second, then cut them."""
        self.server.should_exit = True
        await asyncio.gather(self.task, return_exceptions=True)


@contextlib.asynccontextmanager
async def serving(
    apps: Mapping[str, ASGIApp], *, lifespan: bool = False, ws_max_size: int = 16 * 1024 * 1024
) -> AsyncIterator[dict[str, Served]]:
    """Serve each app on a free loopback port until the block ends.

    `ws_max_size` is uvicorn's WebSocket frame limit (its default unless given).
    """
    served: dict[str, Served] = {}
    try:
        for name, app in apps.items():
            server = _Server(
                uvicorn.Config(
                    app,
                    host="127.0.0.1",
                    port=0,
                    lifespan="on" if lifespan else "off",
                    log_level="warning",
                    timeout_graceful_shutdown=1,
                    ws_max_size=ws_max_size,
                    # The peer as it is: X-Forwarded-For is for the BFF's own
                    # BFF_TRUSTED_PROXIES to judge, not for uvicorn's loopback default.
                    proxy_headers=False,
                )
            )
            served[name] = Served(server, asyncio.create_task(server.serve()))
        for one in served.values():
            while not one.server.started:
                if one.task.done():
                    await one.task
                    raise RuntimeError("a server stopped while starting")
                await asyncio.sleep(0.01)
        yield served
    finally:
        await asyncio.gather(*(one.stop() for one in served.values()))
