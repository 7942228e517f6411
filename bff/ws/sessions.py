"""The WebSocket side of `/graphql`: GraphQL over WebSocket sessions.

One `Session` per socket; its subscriptions run in `bff.ws.subscriptions`
(see docs/subscriptions.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NoReturn

from starlette.websockets import WebSocket, WebSocketDisconnect

from bff.execution.request import GraphQLRequest, client_id_of, client_of, request_id_of
from bff.observability.metrics import Metrics
from bff.pipeline.lifecycle import Lifecycle
from bff.security.auth import EXPIRED, AuthenticationFailed
from bff.security.rate_limit import client_address, trusted_networks
from bff.ws.protocol import (
    CloseCode,
    Dialect,
    Message,
    ProtocolError,
    encode,
    negotiate,
    operation_id,
    parse,
    payload_of,
    subscribe_request,
)
from bff.ws.quotas import Hold, Quota
from bff.ws.subscriptions import Connection, Reply, Subscriptions
from resolvers.context import Caller

logger = logging.getLogger("bff.ws.sessions")

TRACE_HEADERS = ("traceparent", "tracestate", "baggage")
"""`baggage` is there only when allowed: `TracingMiddleware` drops it otherwise."""
GOING_AWAY = "The server is shutting down"


@dataclass(frozen=True, slots=True)
class SessionRules:
    keepalive_s: float
    """Interval of the server's keep-alive messages; 0: none."""
    init_timeout_s: float
    max_message_bytes: int
    max_sockets_per_user: int
    max_sockets_per_address: int


class WebSocketEndpoint:
    """Accepts sockets on `/graphql` and runs a session on each, until drained.

    `clock` is the wall clock tokens expire by (`Caller.expires_at`).
    """

    def __init__(
        self,
        subscriptions: Subscriptions,
        lifecycle: Lifecycle,
        rules: SessionRules,
        metrics: Metrics,
        *,
        trusted_proxies: Sequence[str] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.subscriptions = subscriptions
        self.rules = rules
        self.metrics = metrics
        self.clock = clock
        self.sockets = Quota(
            per_user=rules.max_sockets_per_user, per_address=rules.max_sockets_per_address
        )
        self._lifecycle = lifecycle
        self._trusted = trusted_networks(trusted_proxies)
        self._sessions: set[Session] = set()
        lifecycle.on_drain(self._drain)

    async def handle(self, websocket: WebSocket) -> None:
        dialect = negotiate(websocket.scope.get("subprotocols", ()))
        await websocket.accept(subprotocol=dialect.protocol if dialect else None)
        if dialect is None:
            await websocket.close(
                CloseCode.SUBPROTOCOL_NOT_ACCEPTABLE, "Subprotocol not acceptable"
            )
            return
        if self._lifecycle.draining:
            await websocket.close(CloseCode.GOING_AWAY, GOING_AWAY)
            return
        headers = websocket.headers
        peer = websocket.client.host if websocket.client else None
        forwarded_for = headers.get("x-forwarded-for")
        connection = Connection(
            request_id=request_id_of(websocket),
            client=client_of(websocket),
            client_id=client_id_of(websocket),
            peer=peer,
            forwarded_for=forwarded_for,
            address=client_address(peer, forwarded_for, self._trusted),
            trace_headers={name: headers[name] for name in TRACE_HEADERS if name in headers},
        )
        hold = Hold()
        if self.sockets.take(hold, address=connection.address) is not None:
            self.refused("websockets_per_address")
            reason = _too_many("from this address", self.sockets.per_address)
            await websocket.close(CloseCode.TRY_AGAIN_LATER, reason)
            return
        session = Session(websocket, dialect, connection, self, hold)
        self._sessions.add(session)
        self.metrics.websockets_open.inc()
        try:
            await session.run()
        finally:
            self._sessions.discard(session)
            hold.release()
            self.metrics.websockets_open.dec()

    def refused(self, reason: str) -> None:
        """Count a refusal by a cap, or a close on an expired token."""
        self.metrics.websocket_refusals.labels(reason).inc()

    def _drain(self) -> None:
        """Close every socket; may run in a signal handler, so only schedules the work."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        loop.call_soon_threadsafe(self._go_away)

    def _go_away(self) -> None:
        for session in self._sessions:
            session.go_away()


@dataclass(eq=False)
class _Running:
    """A subscription in progress on a socket."""

    task: asyncio.Task[None] | None = None
    stopped: bool = False
    """The client stopped it (rather than the socket closing)."""


class Session:
    """One socket: its handshake, keep-alives, token expiry and running subscriptions."""

    def __init__(
        self,
        websocket: WebSocket,
        dialect: Dialect,
        connection: Connection,
        endpoint: WebSocketEndpoint,
        hold: Hold,
    ) -> None:
        self.websocket = websocket
        self.dialect = dialect
        self.connection = connection
        self.endpoint = endpoint
        self.subscriptions = endpoint.subscriptions
        self.rules = endpoint.rules
        self._hold = hold
        """The socket's place under the caps: its address's, then its user's too."""
        self._caller: Caller | None = None
        self._expiry: asyncio.TimerHandle | None = None
        self._running: dict[str, _Running] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        """Every subscription's task, those stopped but still cleaning up too."""
        self._started = 0
        self._closed = False
        self._acknowledged = asyncio.Event()
        self._finished = asyncio.Event()
        self._closing: asyncio.Task[None] | None = None

    async def run(self) -> None:
        receiving = asyncio.create_task(self._receive())
        receiving.add_done_callback(lambda _: self._finished.set())
        watching = asyncio.create_task(self._watch())
        try:
            await self._finished.wait()
        finally:
            if self._expiry is not None:
                self._expiry.cancel()
            tasks = [receiving, watching, *self._tasks]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def go_away(self) -> None:
        """Close the socket with 1001: the server is shutting down."""
        self._closing = asyncio.ensure_future(self._close(CloseCode.GOING_AWAY, GOING_AWAY))

    def _expire(self) -> None:
        """The token has just expired: close the socket with 4403."""
        self.endpoint.refused("token_expired")
        self._closing = asyncio.ensure_future(self._close(CloseCode.FORBIDDEN, EXPIRED))

    async def _receive(self) -> None:
        try:
            while True:
                received = await self.websocket.receive()
                if received["type"] == "websocket.disconnect":
                    return
                await self._handle(self._message(received))
        except ProtocolError as broken:
            await self._close(broken.code, broken.reason)
        except Exception:
            logger.exception("a WebSocket session failed (connection %s)", self.connection)
            await self._close(CloseCode.INTERNAL, "Internal server error")

    def _message(self, received: Mapping[str, object]) -> Message:
        text = received.get("text")
        if not isinstance(text, str):
            raise ProtocolError("Invalid message received: send JSON in text frames")
        if oversized(text, self.rules.max_message_bytes):
            raise ProtocolError("Message too big", CloseCode.TOO_BIG)
        return parse(text)

    async def _handle(self, message: Message) -> None:
        kind = message["type"]
        legacy = self.dialect.legacy
        if kind == "connection_init":
            await self._initialise(payload_of(message))
        elif kind == self.dialect.subscribe:
            if self._caller is None or not self._acknowledged.is_set():
                raise ProtocolError("Unauthorized", CloseCode.UNAUTHORIZED)
            if self._caller.expired(self.endpoint.clock()):
                self.endpoint.refused("token_expired")
                raise ProtocolError(EXPIRED, CloseCode.FORBIDDEN)
            self._start(operation_id(message), subscribe_request(message))
        elif kind == self.dialect.stop:
            self._stop(operation_id(message))
        elif kind == "ping" and not legacy:
            await self._send({"type": "pong"})
        elif kind == "pong" and not legacy:
            pass
        elif kind == "connection_terminate" and legacy:
            await self._close(1000, "Normal closure")
        else:
            raise ProtocolError(f"Invalid message received: unknown type {kind!r}")

    async def _initialise(self, payload: Mapping[str, object]) -> None:
        if self._caller is not None:
            raise ProtocolError("Too many initialisation requests", CloseCode.TOO_MANY_INITS)
        authorization = _authorization(payload)
        if authorization is None:
            authorization = self.websocket.headers.get("authorization")
        try:
            caller = await self.subscriptions.authenticator.caller(authorization)
        except AuthenticationFailed as refused:
            await self._refuse(refused.description, CloseCode.FORBIDDEN, message=refused.message)
        sockets = self.endpoint.sockets
        if sockets.take(self._hold, user_id=caller.user_id) is not None:
            self.endpoint.refused("websockets_per_user")
            await self._refuse(
                _too_many("for one user", sockets.per_user), CloseCode.TRY_AGAIN_LATER
            )
        self._caller = caller
        if caller.expires_at is not None:
            delay = caller.expires_at - self.endpoint.clock()
            self._expiry = asyncio.get_running_loop().call_later(max(delay, 0.0), self._expire)
        await self._send({"type": "connection_ack"})
        if self.dialect.legacy and self.rules.keepalive_s > 0:
            await self._send({"type": self.dialect.keepalive})
        self._acknowledged.set()

    async def _refuse(self, reason: str, code: int, *, message: str | None = None) -> NoReturn:
        """Refuse `connection_init`, closing with `reason`: the legacy dialect says why
        in a message first (`message`, which may say more, or else the reason)."""
        if self.dialect.legacy:
            payload = {"message": message or reason}
            await self._send({"type": "connection_error", "payload": payload})
        raise ProtocolError(reason, code)

    def _start(self, operation: str, request: GraphQLRequest) -> None:
        if operation in self._running:
            raise ProtocolError(
                f"Subscriber for {operation} already exists", CloseCode.SUBSCRIBER_EXISTS
            )
        assert self._caller is not None
        running = self._running[operation] = _Running()
        self._started += 1

        async def emit(reply: Reply, payload: object) -> None:
            if reply == "next":
                await self._send({"type": self.dialect.next, "id": operation, "payload": payload})
                return
            # The last reply: the client may reuse the id as soon as it has it.
            self._forget(operation, running)
            if reply == "error":
                await self._send({"type": "error", "id": operation, "payload": payload})
            else:
                await self._send({"type": "complete", "id": operation})

        running.task = task = asyncio.create_task(
            self.subscriptions.run(
                request,
                self._caller,
                self.connection,
                f"{self.connection.request_id}.{self._started}",
                running=len(self._running),
                emit=emit,
                stopped=lambda: running.stopped,
            )
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _: self._forget(operation, running))

    def _stop(self, operation: str) -> None:
        """The client stopped a subscription: its id and its place are free at once."""
        running = self._running.pop(operation, None)
        if running is not None and running.task is not None:
            running.stopped = True
            running.task.cancel()

    def _forget(self, operation: str, running: _Running) -> None:
        if self._running.get(operation) is running:
            del self._running[operation]

    async def _watch(self) -> None:
        """Close the socket if it does not initialise in time; then keep it alive."""
        try:
            async with asyncio.timeout(self.rules.init_timeout_s):
                await self._acknowledged.wait()
        except TimeoutError:
            await self._close(CloseCode.INIT_TIMEOUT, "Connection initialisation timeout")
            return
        if self.rules.keepalive_s <= 0:
            return
        while True:
            await asyncio.sleep(self.rules.keepalive_s)
            await self._send({"type": self.dialect.keepalive})

    async def _send(self, message: Message) -> None:
        if self._closed:
            return
        try:
            await self.websocket.send_text(encode(message))
        except (RuntimeError, WebSocketDisconnect):
            # The client has gone: there is nobody left to tell.
            self._closed = True
            self._finished.set()

    async def _close(self, code: int, reason: str) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            # A close reason may take at most 123 bytes.
            await self.websocket.close(code, reason.encode()[:123].decode(errors="ignore"))
        except (RuntimeError, WebSocketDisconnect):
            pass
        finally:
            self._finished.set()


def _too_many(whose: str, maximum: int) -> str:
    return f"Too many WebSockets {whose} (at most {maximum}): close one, then retry"


def oversized(text: str, max_bytes: int) -> bool:
    """Whether a text message is over `max_bytes` once in UTF-8 (1 to 4 bytes a character)."""
    if len(text) > max_bytes:
        return True
    return len(text) * 4 > max_bytes and len(text.encode("utf-8", "surrogatepass")) > max_bytes


def _authorization(payload: Mapping[str, object]) -> str | None:
    """The `Authorization` a `connection_init` payload carries, as HTTP clients send it."""
    for name in ("Authorization", "authorization"):
        value = payload.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ProtocolError("Invalid message received: Authorization must be a string")
        return value
    return None
