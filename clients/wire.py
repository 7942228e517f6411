"""What crosses the wire to a downstream service, and what carries it.

`AiohttpWire` for the network, `HttpxWire` for any httpx transport (the tests'
seam).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

import aiohttp
import httpx

DEFAULT_HEADERS = {"accept": "application/json", "user-agent": "bff"}


class WireTimeout(Exception):
    """Nothing came in time: no connection, no answer, or a stream gone silent."""


class WireBroken(Exception):
    """No answer could be had: the connection was refused, reset or cut short."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One request: `path` is relative to the service's base URL."""

    method: str
    path: str
    route: str
    """The route template, for whatever observes the wire (spans, metrics)."""
    params: Mapping[str, str] | None = None
    headers: Mapping[str, str] | None = None
    content: bytes | None = None
    resend_count: int = 0
    """Earlier attempts of the same call (retries and hedges)."""


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes


class Streaming(Protocol):
    """A reply whose body is read as it comes."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def lines(self) -> AsyncIterator[str]: ...


class Wire(Protocol):
    base_url: str

    async def send(self, request: Outgoing) -> Reply: ...

    def stream(self, request: Outgoing) -> AbstractAsyncContextManager[Streaming]: ...

    async def aclose(self) -> None: ...


class AiohttpWire:
    """The network, through one aiohttp session (pool) per service.

    `max_connections` None leaves the pool unbounded (for streams, which the
    BFF caps itself). `idle_timeout_s` bounds each wait for bytes from an
    open reply; connecting is bounded by `connect_timeout_s`. The whole
    attempt is bounded by the caller (`asyncio.timeout`).
    """

    def __init__(
        self,
        base_url: str,
        *,
        max_connections: int | None,
        connect_timeout_s: float,
        idle_timeout_s: float | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.base_url = base_url
        self._max_connections = max_connections
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout_s, sock_read=idle_timeout_s
        )
        self._tls = tls
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # Opened on first use: a session belongs to the event loop it is made in.
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections or 0,
                limit_per_host=0,
                ssl=self._tls if self._tls is not None else True,
                enable_cleanup_closed=True,
            )
            self._session = aiohttp.ClientSession(
                base_url=self.base_url,
                connector=connector,
                timeout=self._timeout,
                headers=DEFAULT_HEADERS,
                auto_decompress=True,
                raise_for_status=False,
            )
        return self._session

    async def send(self, request: Outgoing) -> Reply:
        try:
            async with self._open().request(
                request.method,
                request.path,
                params=request.params,
                headers=request.headers,
                data=request.content,
            ) as response:
                body = await response.read()
                return Reply(response.status, response.headers, body)
        except (aiohttp.ServerTimeoutError, aiohttp.ConnectionTimeoutError) as error:
            raise WireTimeout(str(error)) from error
        except aiohttp.ClientError as error:
            raise WireBroken(str(error) or type(error).__name__) from error

    @asynccontextmanager
    async def stream(self, request: Outgoing) -> AsyncIterator[Streaming]:
        try:
            async with self._open().request(
                request.method, request.path, params=request.params, headers=request.headers
            ) as response:
                yield _AiohttpStreaming(response)
        except (aiohttp.ServerTimeoutError, aiohttp.ConnectionTimeoutError) as error:
            raise WireTimeout(str(error)) from error
        except aiohttp.ClientError as error:
            raise WireBroken(str(error) or type(error).__name__) from error

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class _AiohttpStreaming:
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.status = response.status
        self.headers: Mapping[str, str] = response.headers
        self._response = response

    async def lines(self) -> AsyncIterator[str]:
        try:
            async for line in self._response.content:
                yield line.decode("utf-8", "replace").rstrip("\r\n")
        except (TimeoutError, aiohttp.ServerTimeoutError) as error:
            raise WireTimeout("nothing read") from error
        except (aiohttp.ClientError, ValueError) as error:  # ValueError: a line over 64 KiB
            raise WireBroken(str(error) or type(error).__name__) from error


class HttpxWire:
    """Any httpx transport as a wire: in-process services, mock answers."""

    def __init__(
        self,
        base_url: str,
        transport: httpx.AsyncBaseTransport,
        *,
        connect_timeout_s: float,
        idle_timeout_s: float | None = None,
    ) -> None:
        self.base_url = base_url
        self._client = httpx.AsyncClient(
            base_url=base_url,
            transport=transport,
            timeout=httpx.Timeout(None, connect=connect_timeout_s, read=idle_timeout_s),
            headers=DEFAULT_HEADERS,
        )

    async def send(self, request: Outgoing) -> Reply:
        try:
            response = await self._client.request(
                request.method,
                request.path,
                params=request.params,
                headers=request.headers,
                content=request.content,
                extensions={"route": request.route, "resend_count": request.resend_count},
            )
        except httpx.TimeoutException as error:
            raise WireTimeout(str(error)) from error
        except httpx.TransportError as error:
            raise WireBroken(str(error) or type(error).__name__) from error
        return Reply(response.status_code, response.headers, response.content)

    @asynccontextmanager
    async def stream(self, request: Outgoing) -> AsyncIterator[Streaming]:
        try:
            async with self._client.stream(
                request.method,
                request.path,
                params=request.params,
                headers=request.headers,
                extensions={"route": request.route},
            ) as response:
                yield _HttpxStreaming(response)
        except httpx.TimeoutException as error:
            raise WireTimeout(str(error)) from error
        except httpx.TransportError as error:
            raise WireBroken(str(error) or type(error).__name__) from error

    async def aclose(self) -> None:
        await self._client.aclose()


class _HttpxStreaming:
    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self.headers: Mapping[str, str] = response.headers
        self._response = response

    async def lines(self) -> AsyncIterator[str]:
        async for line in self._response.aiter_lines():
            yield line
