"""Shared mechanics of every downstream client.

One `ServiceClient` per downstream service wraps one long-lived
`httpx.AsyncClient` (its connection pool and keep-alive). It turns an HTTP
exchange into parsed records or a `clients.errors` exception, splits batch reads
into chunks the contract accepts, and caps its calls in flight at the pool size,
so requests never queue inside httpcore's pool, whose waiting-list scans wedge
the event loop under load.

Reads go through the process-wide `SharedCache` (see `clients.cache` for what
it stores and for how long) and through request coalescing (`clients.flight`):
a read the cache cannot answer joins an identical call already under way, if
any. Without a cache (`cache=None`) every read goes to the network.

Per-request information (request id, caller, forwarded headers) travels in a
`CallScope`; `scoped()` returns a cheap copy of the client bound to one, sharing
the pool, the cap, the cache and the calls in flight.
"""

from __future__ import annotations

import asyncio
import copy
import ssl
import time
from collections import defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Self, TypeVar, cast
from urllib.parse import quote

import httpx
import orjson

from clients.cache import CacheKey, Entry, Freshness, SharedCache, StoredKey
from clients.decoding import JsonObject, RecordError, objects
from clients.errors import (
    BadResponse,
    Conflict,
    DownstreamError,
    NotFound,
    Rejected,
    Timeout,
    Unavailable,
)
from clients.flight import InFlight, Outcome, join
from clients.recording import Exchange, Recorder, Source

BATCH_LIMIT = 100
"""Most ids one batch request may name, per the downstream contract."""

_T = TypeVar("_T")
Batch = dict[str, Outcome[tuple[object, ...]]]


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


class ServiceClient:
    """Cached, coalesced GETs and plain POSTs against one service, errors mapped once."""

    def __init__(
        self,
        service: str,
        http: httpx.AsyncClient,
        config: ServiceConfig,
        cache: SharedCache | None = None,
    ) -> None:
        self.service = service
        self._http = http
        self._health_path = config.health_path
        self._timeout_s = config.timeout_s
        self._forward_authorization = config.forward_authorization
        self._gate = asyncio.Semaphore(config.max_connections)
        self._cache = cache
        self._reads: InFlight[Outcome[object]] = InFlight()
        self._batches: InFlight[Batch] = InFlight()
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

    def forget(self, resource: str, ids: Sequence[str]) -> None:
        """Drop cached reads of these ids: they have just changed."""
        if self._cache is not None:
            self._cache.invalidate(self.service, resource, ids)

    async def get(
        self,
        route: str,
        parse: Callable[[JsonObject], _T],
        *,
        resource: str,
        key: str = "",
        variant: Hashable = None,
        path: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> _T:
        """GET one JSON document and parse it, through the cache and coalescing.

        `resource`, `key` and `variant` name the read in the cache; they must
        determine the request as fully as `route`, `path` and `params` do.
        """
        url = _url(route, path)
        if self._cache is None:
            response = await self._send("GET", url, route, params=params)
            return self.parse(parse, self._json(response))
        cache_key: CacheKey = (self.service, resource, key, variant)
        owner = self._scope.caller_id
        hit = self._cache.lookup(cache_key, owner)
        now = self._cache.now()
        if hit is not None and hit[1].is_fresh(now):
            self._cache.stats.hits += 1
            self._record_hit(route, "shared", time.perf_counter(), age=hit[1].age(now))
            return cast(_T, hit[1].value)
        self._cache.stats.misses += 1

        async def read() -> Outcome[object]:
            return await self._read(url, route, params, parse, cache_key, owner, hit)

        started = time.perf_counter()
        task = self._reads.find(cache_key)
        if task is None:
            task = self._reads.start([cache_key], read)
            outcome = await join(task)
        else:
            outcome = await join(task)
            self._record_hit(route, "in-flight", started)
        if not outcome.serves(owner):
            outcome = await read()
        return cast(_T, outcome.value)

    async def get_items(
        self,
        route: str,
        parse_item: Callable[[JsonObject], _T],
        *,
        resource: str,
        key: str = "",
        variant: Hashable = None,
        params: Mapping[str, str] | None = None,
    ) -> tuple[_T, ...]:
        """GET a `{"items": [...]}` page and parse each item."""

        def parse_page(page: JsonObject) -> tuple[_T, ...]:
            return tuple(parse_item(item) for item in objects(page, "items"))

        return await self.get(
            route, parse_page, resource=resource, key=key, variant=variant, params=params
        )

    async def get_batch(
        self,
        route: str,
        id_param: str,
        ids: Sequence[str],
        parse_item: Callable[[JsonObject], _T],
        id_of: Callable[[_T], str],
        *,
        resource: str,
        variant: Hashable = None,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, tuple[_T, ...]]:
        """Items per id, read in chunks of at most `BATCH_LIMIT` ids, cached per id.

        Every id asked for is a key of the answer; an id the service did not
        return maps to an empty tuple.
        """
        wanted = list(dict.fromkeys(ids))
        owner = self._scope.caller_id

        async def fetch(missing: list[str]) -> Batch:
            return await self._read_batch(
                route, id_param, missing, parse_item, id_of, resource, variant, params, owner
            )

        started = time.perf_counter()

        if self._cache is None:
            fetched = await fetch(wanted)
            return {
                entity_id: cast(tuple[_T, ...], fetched[entity_id].value) for entity_id in wanted
            }
        found: dict[str, tuple[object, ...]] = {}
        waiting: dict[asyncio.Task[Batch], list[str]] = defaultdict(list)
        missing: list[str] = []
        now = self._cache.now()
        oldest = 0.0
        for entity_id in wanted:
            cache_key: CacheKey = (self.service, resource, entity_id, variant)
            hit = self._cache.lookup(cache_key, owner)
            if hit is not None and hit[1].is_fresh(now):
                self._cache.stats.hits += 1
                found[entity_id] = cast(tuple[object, ...], hit[1].value)
                oldest = max(oldest, hit[1].age(now))
                continue
            self._cache.stats.misses += 1
            task = self._batches.find(cache_key)
            if task is not None:
                waiting[task].append(entity_id)
            else:
                missing.append(entity_id)
        if found:
            self._record_hit(route, "shared", started, age=oldest, batch_size=len(found))
        joined = set(waiting)
        if missing:
            keys = [(self.service, resource, entity_id, variant) for entity_id in missing]
            waiting[self._batches.start(keys, lambda: fetch(missing))].extend(missing)
        refused: list[str] = []
        for task, entity_ids in waiting.items():
            outcomes = await join(task)
            if task in joined:
                self._record_hit(route, "in-flight", started, batch_size=len(entity_ids))
            for entity_id in entity_ids:
                outcome = outcomes[entity_id]
                if outcome.serves(owner):
                    found[entity_id] = outcome.value
                else:
                    refused.append(entity_id)
        if refused:
            own = await fetch(refused)
            found.update((entity_id, own[entity_id].value) for entity_id in refused)
        return {entity_id: cast(tuple[_T, ...], found[entity_id]) for entity_id in wanted}

    async def post_json(
        self,
        route: str,
        body: Mapping[str, object],
        *,
        headers: Mapping[str, str] | None = None,
    ) -> JsonObject:
        response = await self._send("POST", route, route, body=body, headers=headers)
        return self._json(response)

    def parse(self, parse: Callable[[JsonObject], _T], obj: JsonObject) -> _T:
        """Apply a record parser, reporting a contract breach as `BadResponse`."""
        try:
            return parse(obj)
        except RecordError as error:
            raise BadResponse(self.service, f"{self.service} sent an unexpected answer") from error

    async def _read(
        self,
        url: str,
        route: str,
        params: Mapping[str, str] | None,
        parse: Callable[[JsonObject], object],
        cache_key: CacheKey,
        owner: str | None,
        known: tuple[StoredKey, Entry] | None,
    ) -> Outcome[object]:
        """One GET, conditional when an entry with an ETag is known."""
        assert self._cache is not None
        etag = known[1].etag if known is not None else None
        headers = {"if-none-match": etag} if etag else None
        response = await self._send("GET", url, route, params=params, headers=headers)
        freshness = Freshness.parse(response.headers.get("cache-control"))
        if response.status_code == 304:
            if known is None:
                raise BadResponse(self.service, f"{self.service} answered 304 unasked")
            self._cache.refresh(known[0], freshness)
            return Outcome(known[1].value, known[1].freshness, owner)
        value = self.parse(parse, self._json(response))
        self._cache.put(
            cache_key,
            owner,
            value,
            freshness,
            size=len(response.content),
            etag=response.headers.get("etag"),
        )
        return Outcome(value, freshness, owner)

    async def _read_batch(
        self,
        route: str,
        id_param: str,
        ids: list[str],
        parse_item: Callable[[JsonObject], _T],
        id_of: Callable[[_T], str],
        resource: str,
        variant: Hashable,
        params: Mapping[str, str] | None,
        owner: str | None,
    ) -> Batch:
        chunks = [ids[start : start + BATCH_LIMIT] for start in range(0, len(ids), BATCH_LIMIT)]
        responses = await asyncio.gather(
            *(
                self._send(
                    "GET",
                    route,
                    route,
                    params={**(params or {}), id_param: ",".join(chunk)},
                    batch_size=len(chunk),
                )
                for chunk in chunks
            )
        )
        outcomes: Batch = {}
        for chunk, response in zip(chunks, responses, strict=True):
            freshness = Freshness.parse(response.headers.get("cache-control"))
            grouped: dict[str, list[_T]] = {entity_id: [] for entity_id in chunk}
            for item in self.parse(_items, self._json(response)):
                record = self.parse(parse_item, item)
                grouped.setdefault(id_of(record), []).append(record)
            share = len(response.content) // len(chunk)
            for entity_id in chunk:
                value = tuple(grouped[entity_id])
                if self._cache is not None:
                    cache_key: CacheKey = (self.service, resource, entity_id, variant)
                    self._cache.put(cache_key, owner, value, freshness, size=share)
                outcomes[entity_id] = Outcome(value, freshness, owner)
        return outcomes

    def _record_hit(
        self,
        route: str,
        source: Source,
        started: float,
        *,
        age: float | None = None,
        batch_size: int | None = None,
    ) -> None:
        recorder = self._scope.recorder
        if recorder is not None:
            recorder.record(
                Exchange(
                    service=self.service,
                    method="GET",
                    route=route,
                    source=source,
                    started=started,
                    seconds=time.perf_counter() - started,
                    batch_size=batch_size,
                    age=age,
                )
            )

    async def _send(
        self,
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
            response = await self._exchange(method, url, route, params, body, headers)
        except DownstreamError as error:
            self._record_call(method, route, started, None, error.code, batch_size)
            raise
        self._record_call(method, route, started, response.status_code, None, batch_size)
        return self._checked(response, method)

    def _record_call(
        self,
        method: str,
        route: str,
        started: float,
        status: int | None,
        error: str | None,
        batch_size: int | None,
    ) -> None:
        recorder = self._scope.recorder
        if recorder is not None:
            recorder.record(
                Exchange(
                    service=self.service,
                    method=method,
                    route=route,
                    source="network",
                    started=started,
                    seconds=time.perf_counter() - started,
                    status=status,
                    error=error,
                    batch_size=batch_size,
                )
            )

    async def _exchange(
        self,
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
        if self._scope.request_id is not None:
            request_headers["x-request-id"] = self._scope.request_id
        if self._forward_authorization and self._scope.authorization is not None:
            request_headers["authorization"] = self._scope.authorization
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

    def _json(self, response: httpx.Response) -> JsonObject:
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


def _url(route: str, path: Mapping[str, str] | None) -> str:
    return route.format_map({key: quote(value, safe="") for key, value in (path or {}).items()})


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
