"""Shared mechanics of every downstream client.

One `ServiceClient` per downstream service wraps one long-lived
`httpx.AsyncClient` (its connection pool and keep-alive). It knows how to turn
an HTTP exchange into JSON or a `clients.errors` exception, how to split batch
reads into chunks the contract accepts, and how many calls it may have in
flight: the cap equals the pool size, so requests never queue inside httpcore's
pool, whose waiting-list scans wedge the event loop under load.

Per-request information (request id, caller, forwarded headers) travels in a
`CallScope`; `scoped()` returns a cheap copy of the client bound to one, sharing
the pool and the cap.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Self, TypeVar
from urllib.parse import quote

import httpx
import orjson

from clients.decoding import JsonObject, RecordError, objects
from clients.errors import (
    BadResponse,
    Conflict,
    NotFound,
    Rejected,
    Timeout,
    Unavailable,
)

BATCH_LIMIT = 100
"""Most ids one batch request may name, per the downstream contract."""

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """Where a downstream service lives and how patient to be with it."""

    base_url: str
    timeout_s: float = 2.0
    connect_timeout_s: float = 0.5
    max_connections: int = 64
    health_path: str = "/healthz"


@dataclass(frozen=True, slots=True)
class CallScope:
    """What one incoming request adds to each downstream call it causes."""

    request_id: str | None = None
    caller_id: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


def open_http(
    config: ServiceConfig, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """Build the pooled HTTP client for one service."""
    return httpx.AsyncClient(
        base_url=config.base_url,
        timeout=httpx.Timeout(config.timeout_s, connect=config.connect_timeout_s),
        limits=httpx.Limits(
            max_connections=config.max_connections,
            max_keepalive_connections=config.max_connections,
        ),
        headers={"accept": "application/json", "user-agent": "bff"},
        transport=transport,
    )


class ServiceClient:
    """GET and POST JSON against one service, with errors mapped once."""

    def __init__(self, service: str, http: httpx.AsyncClient, config: ServiceConfig) -> None:
        self.service = service
        self._http = http
        self._health_path = config.health_path
        self._gate = asyncio.Semaphore(config.max_connections)
        self._scope = CallScope()

    def scoped(self, scope: CallScope) -> Self:
        clone = copy.copy(self)
        clone._scope = scope
        return clone

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

    async def get_json(
        self,
        route: str,
        *,
        path: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> JsonObject:
        return await self._send("GET", route, path=path, params=params)

    async def post_json(
        self,
        route: str,
        body: Mapping[str, object],
        *,
        headers: Mapping[str, str] | None = None,
    ) -> JsonObject:
        return await self._send("POST", route, body=body, headers=headers)

    async def get_record(
        self,
        route: str,
        parse: Callable[[JsonObject], _T],
        *,
        path: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> _T:
        return self.parse(parse, await self.get_json(route, path=path, params=params))

    async def get_items(
        self,
        route: str,
        parse_item: Callable[[JsonObject], _T],
        *,
        params: Mapping[str, str] | None = None,
    ) -> list[_T]:
        """Read a `{"items": [...]}` page and parse each item."""
        page = await self.get_json(route, params=params)
        return [self.parse(parse_item, item) for item in self.parse(_items, page)]

    async def get_batch(
        self,
        route: str,
        id_param: str,
        ids: Sequence[str],
        parse_item: Callable[[JsonObject], _T],
        *,
        params: Mapping[str, str] | None = None,
    ) -> list[_T]:
        """Read `items` for many ids, in chunks of at most `BATCH_LIMIT` ids."""
        chunks = [ids[start : start + BATCH_LIMIT] for start in range(0, len(ids), BATCH_LIMIT)]
        pages = await asyncio.gather(
            *(
                self.get_items(
                    route, parse_item, params={**(params or {}), id_param: ",".join(chunk)}
                )
                for chunk in chunks
            )
        )
        return [item for page in pages for item in page]

    def parse(self, parse: Callable[[JsonObject], _T], obj: JsonObject) -> _T:
        """Apply a record parser, reporting a contract breach as `BadResponse`."""
        try:
            return parse(obj)
        except RecordError as error:
            raise BadResponse(self.service, f"{self.service} sent an unexpected answer") from error

    async def _send(
        self,
        method: str,
        route: str,
        *,
        path: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> JsonObject:
        url = route.format_map({key: quote(value, safe="") for key, value in (path or {}).items()})
        request_headers = dict(self._scope.headers)
        if self._scope.request_id is not None:
            request_headers["x-request-id"] = self._scope.request_id
        if headers:
            request_headers.update(headers)
        content = None
        if body is not None:
            content = orjson.dumps(body)
            request_headers["content-type"] = "application/json"
        try:
            async with self._gate:
                response = await self._http.request(
                    method, url, params=params, content=content, headers=request_headers
                )
        except httpx.TimeoutException as error:
            raise Timeout(self.service, f"{self.service} did not answer in time") from error
        except httpx.TransportError as error:
            raise Unavailable(self.service, f"{self.service} is unavailable") from error
        return self._decode(response)

    def _decode(self, response: httpx.Response) -> JsonObject:
        status = response.status_code
        if 200 <= status < 300:
            try:
                decoded = orjson.loads(response.content)
            except orjson.JSONDecodeError as error:
                raise BadResponse(self.service, f"{self.service} sent invalid JSON") from error
            if not isinstance(decoded, dict):
                raise BadResponse(self.service, f"{self.service} sent an unexpected answer")
            return decoded
        detail = _error_message(response)
        if status == 404:
            raise NotFound(self.service, detail or "not found")
        if status in (400, 422):
            raise Rejected(self.service, detail or f"{self.service} refused the input")
        if status == 409:
            raise Conflict(self.service, detail or f"{self.service} refused the change")
        if status >= 500:
            raise Unavailable(self.service, f"{self.service} is unavailable (HTTP {status})")
        raise BadResponse(self.service, f"{self.service} answered with HTTP {status}")


def _items(page: JsonObject) -> list[JsonObject]:
    return objects(page, "items")


def _error_message(response: httpx.Response) -> str | None:
    """The `error.message` of a contract error body, when there is one."""
    try:
        decoded = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None
    error = decoded.get("error") if isinstance(decoded, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return message if isinstance(message, str) and message else None
