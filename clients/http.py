"""One service's end of the wire: configuration, sending, and what can go wrong.

`ServiceHttp` wraps the long-lived `httpx.AsyncClient` of one downstream
service (its pool and keep-alive) and turns every exchange into a response or
one of the `clients.errors` exceptions, in one place. It caps calls in flight
at the pool size, so requests never queue inside httpcore's pool (whose
waiting-list scans wedge the event loop under load), and its timeout covers
that wait too. Each exchange is reported to the request's `Recorder`.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx
import orjson

from clients.decoding import JsonObject
from clients.errors import (
    BadResponse,
    Conflict,
    DownstreamError,
    NotFound,
    Rejected,
    Timeout,
    Unavailable,
)
from clients.recording import Exchange, Recorder, Source


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


@dataclass(frozen=True, slots=True)
class CallScope:
    """What one incoming request adds to each downstream call it causes."""

    request_id: str | None = None
    caller_id: str | None = None
    authorization: str | None = None
    """The caller's own `Authorization` header, passed on where the service allows."""
    recorder: Recorder | None = None


TransportWrapper = Callable[[str, httpx.AsyncBaseTransport], httpx.AsyncBaseTransport]
"""Wraps a service's transport (by service name), e.g. to trace and measure calls."""


def open_http(
    config: ServiceConfig,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    service: str = "",
    wrap: TransportWrapper | None = None,
) -> httpx.AsyncClient:
    """Build the pooled HTTP client for one service."""
    if transport is None:
        transport = httpx.AsyncHTTPTransport(
            verify=_tls_context(config),
            limits=httpx.Limits(
                max_connections=config.max_connections,
                max_keepalive_connections=config.max_connections,
            ),
        )
    if wrap is not None:
        transport = wrap(service, transport)
    return httpx.AsyncClient(
        base_url=config.base_url,
        timeout=httpx.Timeout(config.timeout_s, connect=config.connect_timeout_s),
        headers={"accept": "application/json", "user-agent": "bff"},
        transport=transport,
    )


class ServiceHttp:
    def __init__(self, service: str, http: httpx.AsyncClient, config: ServiceConfig) -> None:
        self.service = service
        self._http = http
        self._health_path = config.health_path
        self._timeout_s = config.timeout_s
        self._forward_authorization = config.forward_authorization
        self._gate = asyncio.Semaphore(config.max_connections)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def ping(self) -> bool:
        """True when the service answers its health path with a 2xx."""
        try:
            async with self._gate:
                response = await self._http.get(self._health_path)
        except httpx.HTTPError:
            return False
        return response.is_success

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
    ) -> httpx.Response:
        """One exchange; any status but 2xx and 304 raises the matching error.

        The route template travels in the request's extensions, for whatever
        observes the transport (spans, metrics).
        """
        started = time.perf_counter()
        try:
            response = await self._exchange(scope, method, url, route, params, body, headers)
        except DownstreamError as failure:
            self.record(
                scope, method, route, "network", started, error=failure.code, batch_size=batch_size
            )
            raise
        self.record(
            scope,
            method,
            route,
            "network",
            started,
            status=response.status_code,
            batch_size=batch_size,
        )
        return self._checked(response, method)

    async def _exchange(
        self,
        scope: CallScope,
        method: str,
        url: str,
        route: str,
        params: Mapping[str, str] | None,
        body: Mapping[str, object] | None,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response:
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
        try:
            # The timeout covers the wait for a free connection slot as well.
            async with asyncio.timeout(self._timeout_s), self._gate:
                response = await self._http.request(
                    method,
                    url,
                    params=params,
                    content=content,
                    headers=request_headers,
                    extensions={"route": route},
                )
        except (httpx.TimeoutException, TimeoutError) as error:
            raise Timeout(self.service, f"{self.service} did not answer in time") from error
        except httpx.TransportError as error:
            raise Unavailable(self.service, f"{self.service} is unavailable") from error
        return response

    def _checked(self, response: httpx.Response, method: str) -> httpx.Response:
        status = response.status_code
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
        if status >= 500:
            raise Unavailable(self.service, f"{self.service} is unavailable (HTTP {status})")
        raise BadResponse(self.service, f"{self.service} answered with HTTP {status}")

    def json(self, response: httpx.Response) -> JsonObject:
        if response.status_code == 304:
            raise BadResponse(self.service, f"{self.service} answered 304 unasked")
        try:
            decoded = orjson.loads(response.content)
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


def _error_message(response: httpx.Response) -> str | None:
    """The `error.message` of a contract error body, when there is one."""
    try:
        decoded = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None
    error = decoded.get("error") if isinstance(decoded, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return message if isinstance(message, str) and message else None
