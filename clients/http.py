"""One service's end of the wire: configuration, sending, and what can go wrong.

`ServiceHttp` applies deadlines, the bulkhead, the breaker, retries and hedging
around each call (see docs/resilience.md).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx
import orjson

from clients.decoding import JsonObject
from clients.errors import (
    BadResponse,
    CircuitOpen,
    Conflict,
    DownstreamError,
    NotFound,
    Rejected,
    Timeout,
    Unavailable,
)
from clients.recording import Exchange, Recorder, Source
from clients.resilience import Resilience, ResiliencePolicy
from clients.retry import RETRYABLE_STATUSES, retry_after
from clients.wire import AiohttpWire, HttpxWire, Outgoing, Reply, Wire, WireBroken, WireTimeout

MIN_ATTEMPT_S = 0.01
"""An attempt with less time than this left is not worth sending."""


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """Where a downstream service lives and how patient to be with it."""

    base_url: str
    timeout_s: float = 2.0
    connect_timeout_s: float = 0.5
    max_connections: int = 64
    health_path: str = "/healthz"
    forward_authorization: bool = True
    """Send the caller's `Authorization` header with each call."""
    ca_bundle: str | None = None
    """CA certificates (PEM) that the service's TLS certificate must chain to."""
    client_cert: str | None = None
    """A client certificate (PEM) to present, for mutual TLS."""
    client_key: str | None = None
    resilience: ResiliencePolicy = field(default_factory=ResiliencePolicy)
    stream_idle_timeout_s: float = 45.0
    """Longest silence (no event, no comment) an event stream may keep before it is
    treated as broken; the service is expected to send keep-alive comments."""


@dataclass(frozen=True, slots=True)
class CallScope:
    """What one incoming request adds to each downstream call it causes."""

    request_id: str | None = None
    caller_id: str | None = None
    authorization: str | None = None
    """The caller's own `Authorization` header, passed on where the service allows."""
    recorder: Recorder | None = None
    deadline: float | None = None
    """`time.monotonic()` by which the operation must be answered; None: no budget."""

    def time_left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()


WireWrapper = Callable[[str, Wire], Wire]
"""Wraps a service's wire (by service name), e.g. to trace and measure calls."""


def open_http(
    config: ServiceConfig,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    service: str = "",
    wrap: WireWrapper | None = None,
    streaming: bool = False,
) -> Wire:
    """The wire to one service: the network, or `transport` where a test gives one.

    A `streaming` wire is for long-lived replies (`clients.streams`): each
    stream holds a connection for its lifetime, so its pool has no size limit
    (streams are capped by `clients.streams.StreamSlots`), and a read waits at
    most `stream_idle_timeout_s` for the next bytes.
    """
    idle = config.stream_idle_timeout_s if streaming else None
    wire: Wire
    if transport is not None:
        wire = HttpxWire(
            config.base_url,
            transport,
            connect_timeout_s=config.connect_timeout_s,
            idle_timeout_s=idle,
        )
    else:
        wire = AiohttpWire(
            config.base_url,
            max_connections=None if streaming else config.max_connections,
            connect_timeout_s=config.connect_timeout_s,
            idle_timeout_s=idle,
            tls=_tls_context(config) if config.base_url.startswith("https:") else None,
        )
    return wrap(service, wire) if wrap is not None else wire


@dataclass(frozen=True, slots=True)
class _Call:
    """One logical call, the same for each of its attempts."""

    method: str
    url: str
    route: str
    params: Mapping[str, str] | None
    content: bytes | None
    headers: dict[str, str]
    batch_size: int | None
    idempotent: bool


class ServiceHttp:
    def __init__(
        self,
        service: str,
        wire: Wire,
        config: ServiceConfig,
        resilience: Resilience | None = None,
    ) -> None:
        self.service = service
        self.resilience = resilience or Resilience(service, config.resilience)
        self._wire = wire
        self._health_path = config.health_path
        self._timeout_s = config.timeout_s
        self._forward_authorization = config.forward_authorization
        self._gate = asyncio.Semaphore(config.max_connections)

    async def aclose(self) -> None:
        await self._wire.aclose()

    async def ping(self) -> bool:
        """True when the service answers its health path with a 2xx."""
        try:
            async with asyncio.timeout(self._timeout_s), self._gate:
                reply = await self._wire.send(Outgoing("GET", self._health_path, "health"))
        except (WireTimeout, WireBroken, TimeoutError):
            return False
        return 200 <= reply.status < 300

    def record(
        self,
        scope: CallScope,
        method: str,
        route: str,
        source: Source,
        started: float,
        *,
        status: int | None = None,
        error: str | None = None,
        batch_size: int | None = None,
        age: float | None = None,
        attempt: int = 1,
        hedge: bool = False,
        ids: tuple[str, ...] = (),
    ) -> None:
        """Tell the request's recorder about one read or call, if it has one."""
        if scope.recorder is not None:
            scope.recorder.record(
                Exchange(
                    service=self.service,
                    method=method,
                    route=route,
                    source=source,
                    started=started,
                    seconds=time.perf_counter() - started,
                    status=status,
                    error=error,
                    batch_size=batch_size,
                    age=age,
                    attempt=attempt,
                    hedge=hedge,
                    ids=ids,
                )
            )

    async def send(
        self,
        scope: CallScope,
        method: str,
        url: str,
        route: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
        batch_size: int | None = None,
    ) -> Reply:
        """One call, retried as policy allows; any final status but 2xx and 304 raises.

        The route template travels in the request's extensions, for whatever
        observes the transport (spans, metrics).
        """
        call = self._call(scope, method, url, route, params, body, headers, batch_size)
        resilience = self.resilience
        # The breaker judges calls as their callers saw them: after retries.
        ticket = resilience.breaker.acquire()
        if ticket is None:
            raise self._refused(scope, call, 1, self._circuit_open())
        resilience.budget.deposit()
        attempt = 1
        try:
            while True:
                outcome, cut_short = await self._attempt(scope, call, attempt)
                wait = self._retry_wait(scope, call, attempt, outcome)
                if wait is None:
                    break
                if wait > 0:
                    await asyncio.sleep(wait)
                attempt += 1
                if resilience.breaker.state == "open":
                    outcome = self._refused(scope, call, attempt, self._circuit_open())
                    break
        except BaseException:
            resilience.breaker.release(ticket, ok=None)
            raise
        resilience.breaker.release(ticket, ok=_verdict(outcome, cut_short))
        if isinstance(outcome, DownstreamError):
            raise outcome
        return self._checked(outcome, method)

    def _circuit_open(self) -> CircuitOpen:
        return CircuitOpen(
            self.service, f"{self.service} is unavailable (failing fast while it recovers)"
        )

    def _call(
        self,
        scope: CallScope,
        method: str,
        url: str,
        route: str,
        params: Mapping[str, str] | None,
        body: Mapping[str, object] | None,
        headers: Mapping[str, str] | None,
        batch_size: int | None,
    ) -> _Call:
        # Only headers the BFF sets itself go downstream: nothing a client sent
        # (X-User-Id, X-Forwarded-*, hop-by-hop headers) is ever passed through.
        request_headers: dict[str, str] = {}
        if scope.request_id is not None:
            request_headers["x-request-id"] = scope.request_id
        if self._forward_authorization and scope.authorization is not None:
            request_headers["authorization"] = scope.authorization
        if headers:
            request_headers.update(headers)
        content = None
        if body is not None:
            content = orjson.dumps(body)
            request_headers["content-type"] = "application/json"
        named = {name.lower() for name in headers or ()}
        idempotent = method == "GET" or "idempotency-key" in named
        return _Call(method, url, route, params, content, request_headers, batch_size, idempotent)

    async def _attempt(
        self, scope: CallScope, call: _Call, attempt: int
    ) -> tuple[Reply | DownstreamError, bool]:
        """One attempt (perhaps hedged), unless the deadline has passed.

        Also says whether the caller's deadline cut the attempt's time to less
        than half the service's timeout: a timeout then says little about the
        service.
        """
        allowed = self._timeout_s
        left = scope.time_left()
        if left is not None and left < allowed:
            if left < MIN_ATTEMPT_S:
                spent = Timeout(
                    self.service,
                    f"{self.service} was not asked: the operation's time budget ran out",
                )
                return self._refused(scope, call, attempt, spent), True
            allowed = left
        try:
            response = await self._hedged(scope, call, allowed, allowed < self._timeout_s, attempt)
        except DownstreamError as failure:
            return failure, allowed < self._timeout_s / 2
        return response, False

    def _refused(
        self, scope: CallScope, call: _Call, attempt: int, error: DownstreamError
    ) -> DownstreamError:
        self.record(
            scope,
            call.method,
            call.route,
            "refused",
            time.perf_counter(),
            error=error.code.value,
            batch_size=call.batch_size,
            attempt=attempt,
        )
        return error

    async def _hedged(
        self, scope: CallScope, call: _Call, allowed_s: float, budget_bound: bool, attempt: int
    ) -> Reply:
        """The attempt, plus one duplicate if it is late and the budget allows."""
        delay = self.resilience.tracker(call.route).delay() if call.idempotent else None
        if delay is None or delay >= allowed_s:
            return await self._exchange(scope, call, allowed_s, budget_bound, attempt)
        first = asyncio.ensure_future(self._exchange(scope, call, allowed_s, budget_bound, attempt))
        tasks = [first]
        try:
            done, _ = await asyncio.wait(tasks, timeout=delay)
            if done:
                return first.result()
            if not self.resilience.budget.withdraw():
                self.resilience.refused("budget")
                return await first
            self.resilience.hedged()
            tasks.append(
                asyncio.ensure_future(
                    self._exchange(
                        scope, call, allowed_s - delay, budget_bound, attempt, hedge=True
                    )
                )
            )
            return await _first_answer(tasks)
        finally:
            for task in tasks:
                if not task.done():
                    task.cancel()

    async def _exchange(
        self,
        scope: CallScope,
        call: _Call,
        allowed_s: float,
        budget_bound: bool,
        attempt: int,
        *,
        hedge: bool = False,
    ) -> Reply:
        """One request on the wire; transport failures become `DownstreamError`s."""
        started = time.perf_counter()
        until = time.monotonic() + allowed_s
        response: Reply | None = None
        failure: DownstreamError | None = None
        cause: Exception | None = None
        try:
            # The timeout covers the wait for a free connection slot as well.
            async with asyncio.timeout(allowed_s), self._gate:
                left = until - time.monotonic()
                if left < MIN_ATTEMPT_S:  # the wait for a slot took the time there was
                    raise TimeoutError
                response = await self._wire.send(
                    Outgoing(
                        call.method,
                        call.url,
                        call.route,
                        params=call.params,
                        headers={**call.headers, "x-request-timeout-ms": str(int(left * 1000))},
                        content=call.content,
                        resend_count=attempt - 1 + hedge,
                    )
                )
        except (WireTimeout, TimeoutError) as error:
            failure, cause = (
                Timeout(
                    self.service,
                    f"{self.service} did not answer within the operation's time budget"
                    if budget_bound
                    else f"{self.service} did not answer in time",
                ),
                error,
            )
        except WireBroken as error:
            failure, cause = Unavailable(self.service, f"{self.service} is unavailable"), error
        self.record(
            scope,
            call.method,
            call.route,
            "network",
            started,
            status=response.status if response is not None else None,
            error=failure.code.value if failure is not None else None,
            batch_size=call.batch_size,
            attempt=attempt,
            hedge=hedge,
        )
        if failure is not None:
            raise failure from cause
        assert response is not None
        if response.status < 500:
            self.resilience.tracker(call.route).observe(time.perf_counter() - started)
        return response

    def _retry_wait(
        self,
        scope: CallScope,
        call: _Call,
        attempt: int,
        outcome: Reply | DownstreamError,
    ) -> float | None:
        """Seconds to wait before trying again, or None: this outcome is final."""
        asked = None
        if isinstance(outcome, Reply):
            if outcome.status not in RETRYABLE_STATUSES:
                return None
            reason = str(outcome.status)
            asked = retry_after(outcome.headers.get("retry-after"))
        elif isinstance(outcome, Timeout):
            reason = "timeout"
        elif isinstance(outcome, Unavailable) and not isinstance(outcome, CircuitOpen):
            reason = "unavailable"
        else:
            return None
        policy = self.resilience.policy.retry
        if not call.idempotent or attempt >= policy.attempts:
            return None
        wait = policy.backoff(attempt, self.resilience.rng)
        if asked is not None:
            wait = max(wait, asked)
        left = scope.time_left()
        if left is not None and wait + MIN_ATTEMPT_S > left:
            self.resilience.refused("deadline")
            return None
        if not self.resilience.budget.withdraw():
            self.resilience.refused("budget")
            return None
        self.resilience.retried(reason)
        return wait

    def _checked(self, response: Reply, method: str) -> Reply:
        status = response.status
        if 200 <= status < 300 or status == 304:
            return response
        # A service's own words are passed on only for writes, where they explain
        # what was wrong with the caller's input; a refused read is the BFF's doing.
        detail = _error_message(response) if method == "POST" else None
        if status == 404:
            raise NotFound(self.service, detail or "not found")
        if status in (400, 422):
            raise Rejected(self.service, detail or f"{self.service} refused the input")
        if status == 409:
            raise Conflict(self.service, detail or f"{self.service} refused the change")
        if status == 504:
            # The service (or a gateway before it) gave up waiting: a timeout.
            raise Timeout(self.service, f"{self.service} did not answer in time (HTTP 504)")
        if status >= 500:
            raise Unavailable(self.service, f"{self.service} is unavailable (HTTP {status})")
        raise BadResponse(self.service, f"{self.service} answered with HTTP {status}")

    def json(self, response: Reply) -> JsonObject:
        if response.status == 304:
            raise BadResponse(self.service, f"{self.service} answered 304 unasked")
        try:
            decoded = orjson.loads(response.body)
        except orjson.JSONDecodeError as error:
            raise BadResponse(self.service, f"{self.service} sent invalid JSON") from error
        if not isinstance(decoded, dict):
            raise BadResponse(self.service, f"{self.service} sent an unexpected answer")
        return decoded


def _tls_context(config: ServiceConfig) -> ssl.SSLContext:
    """Verification against the configured CA bundle (else the system's), and a client cert."""
    context = ssl.create_default_context(cafile=config.ca_bundle)
    if config.client_cert:
        context.load_cert_chain(config.client_cert, config.client_key)
    return context


def _error_message(response: Reply) -> str | None:
    """The `error.message` of a contract error body, when there is one."""
    try:
        decoded = orjson.loads(response.body)
    except orjson.JSONDecodeError:
        return None
    error = decoded.get("error") if isinstance(decoded, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return message if isinstance(message, str) and message else None


async def _first_answer(tasks: list[asyncio.Task[Reply]]) -> Reply:
    """The first response below 500; else the last response, else the first failure."""
    pending = set(tasks)
    fallback: Reply | None = None
    failure: BaseException | None = None
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            error = task.exception()
            if error is None:
                response = task.result()
                if response.status < 500:
                    return response
                fallback = response
            elif failure is None:
                failure = error
    if fallback is not None:
        return fallback
    assert failure is not None
    raise failure


def _verdict(outcome: Reply | DownstreamError, cut_short: bool) -> bool | None:
    """What a call's final outcome says about the service's health; None: nothing."""
    if isinstance(outcome, Reply):
        return outcome.status < 500
    if isinstance(outcome, CircuitOpen) or (isinstance(outcome, Timeout) and cut_short):
        return None
    return not isinstance(outcome, Timeout | Unavailable)
