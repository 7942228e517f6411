"""Shutting down without cutting anyone off.

See docs/operations.md, Graceful shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from types import FrameType

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("bff.pipeline.lifecycle")

Handler = Callable[[int, FrameType | None], object]


class Lifecycle:
    """Whether the process is draining, and the signal handling that starts it."""

    def __init__(self) -> None:
        self.draining = False
        self._restore: list[tuple[int, Handler]] = []
        self._on_drain: list[Callable[[], None]] = []

    def on_drain(self, listener: Callable[[], None]) -> None:
        """Call `listener` when draining starts (perhaps in a signal handler: keep it short)."""
        self._on_drain.append(listener)

    def drain(self) -> None:
        if not self.draining:
            self.draining = True
            logger.info("draining: /readyz answers 503 and connections close after each response")
            for listener in self._on_drain:
                listener()

    def handle_signals(self, delay_s: float) -> None:
        """Drain on SIGTERM for `delay_s`, then hand over to the server's handler.

        Must run in the main thread, after the server installed its handlers.
        """
        loop = asyncio.get_running_loop()

        def wrap(sig: int, delay: float) -> None:
            previous = signal.getsignal(sig)
            if not callable(previous):
                return

            def handler(number: int, frame: FrameType | None) -> None:
                first = not self.draining
                self.drain()
                wait = delay if first else 0.0
                loop.call_soon_threadsafe(loop.call_later, wait, previous, number, None)

            signal.signal(sig, handler)
            self._restore.append((sig, previous))

        wrap(signal.SIGTERM, delay_s)
        wrap(signal.SIGINT, 0.0)

    def restore_signals(self) -> None:
        for sig, previous in self._restore:
            signal.signal(sig, previous)
        self._restore.clear()


class CloseWhileDraining:
    """ASGI middleware: while draining, ask HTTP clients to close their connection."""

    def __init__(self, app: ASGIApp, lifecycle: Lifecycle) -> None:
        self.app = app
        self.lifecycle = lifecycle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start" and self.lifecycle.draining:
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != b"connection"
                ]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, closing)
