"""Serving demo services on real sockets: one uvicorn server per service, one event loop.

uvicorn's `Server.serve` installs its own SIGINT/SIGTERM handlers (and re-raises the
signal on exit), which several servers in one loop would fight over; here the runner
owns the signals and tells every server to exit. Requests still open one second
after that (an injected hang, an event stream) are cancelled.
"""

import asyncio
import contextlib
import signal
import ssl
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass

import uvicorn

from demo.services import DemoService

SHUTDOWN_GRACE_SECONDS = 1


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None]:
        yield  # the runner handles signals for all servers at once


@dataclass(frozen=True, slots=True)
class Tls:
    """Serve HTTPS; with `client_ca`, callers must present a certificate it signed."""

    cert_file: str
    key_file: str
    client_ca: str | None = None


async def serve(
    services: Mapping[str, DemoService],
    host: str,
    ports: Mapping[str, int],
    *,
    on_ready: Callable[[], None] | None = None,
    tls: Tls | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM; `on_ready` runs once every service is listening.

    Raises SystemExit if a server cannot start (uvicorn logs why, e.g. a port in use).
    """
    servers = [
        _Server(
            uvicorn.Config(
                service.app,
                host=host,
                port=ports[name],
                loop="uvloop",
                http="httptools",
                lifespan="off",
                access_log=False,
                log_level="warning",
                timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
                ssl_certfile=tls.cert_file if tls else None,
                ssl_keyfile=tls.key_file if tls else None,
                ssl_ca_certs=tls.client_ca if tls else None,
                ssl_cert_reqs=ssl.CERT_REQUIRED if tls and tls.client_ca else ssl.CERT_NONE,
            )
        )
        for name, service in services.items()
    ]
    loop = asyncio.get_running_loop()

    def request_exit() -> None:
        for server in servers:
            # A second signal stops waiting for open requests.
            server.force_exit = server.should_exit
            server.should_exit = True

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, request_exit)
    try:
        tasks = [asyncio.create_task(server.serve()) for server in servers]
        while not all(server.started for server in servers):
            if any(task.done() for task in tasks):
                request_exit()  # one failed to start: stop the others
                break
            await asyncio.sleep(0.01)
        else:
            if on_ready is not None:
                on_ready()
        await asyncio.gather(*tasks)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
