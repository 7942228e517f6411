"""Shared mechanics of every downstream client: reads, cached and coalesced.

One `ServiceClient` per downstream service sends through its `ServiceHttp`
(`clients.http`: the pool, timeouts, the cap on calls in flight, errors mapped
once), parses answers into records, and splits batch reads into chunks the
contract accepts.

Reads go through the process-wide `SharedCache` (see `clients.cache` for what
it stores and for how long) and through request coalescing (`clients.flight`):
a read the cache cannot answer joins an identical call already under way, if
any. Without a cache (`cache=None`) every read goes to the network.

Per-request information (request id, caller, their `Authorization`, the
recorder) travels in a `CallScope`; `scoped()` returns a cheap copy of the
client bound to one, sharing the pool, the cap, the cache and the calls in
flight.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections import defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Self, TypeVar, cast
from urllib.parse import quote

import httpx

from clients.cache import CacheKey, Entry, Freshness, SharedCache, StoredKey
from clients.decoding import JsonObject, RecordError, objects
from clients.errors import BadResponse
from clients.flight import InFlight, Outcome, join
from clients.http import CallScope, ServiceConfig, ServiceHttp

BATCH_LIMIT = 100
"""Most ids one batch request may name, per the downstream contract."""

_T = TypeVar("_T")
Batch = dict[str, Outcome[tuple[object, ...]]]


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
        self._wire = ServiceHttp(service, http, config)
        self._cache = cache
        self._reads: InFlight[Outcome[object]] = InFlight()
        self._batches: InFlight[Batch] = InFlight()
        self._scope = CallScope()

    def scoped(self, scope: CallScope) -> Self:
        clone = copy.copy(self)
        clone._scope = scope
        return clone

    async def aclose(self) -> None:
        await self._wire.aclose()

    async def ping(self) -> bool:
        """True when the service answers its health path with a 2xx."""
        return await self._wire.ping()

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
            response = await self._wire.send(self._scope, "GET", url, route, params=params)
            return self.parse(parse, self._wire.json(response))
        cache_key: CacheKey = (self.service, resource, key, variant)
        owner = self._scope.caller_id
        hit = self._cache.lookup(cache_key, owner)
        now = self._cache.now()
        if hit is not None and hit[1].is_fresh(now):
            self._cache.stats.hits += 1
            self._wire.record(
                self._scope, "GET", route, "shared", time.perf_counter(), age=hit[1].age(now)
            )
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
            self._wire.record(self._scope, "GET", route, "in-flight", started)
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
            self._wire.record(
                self._scope, "GET", route, "shared", started, age=oldest, batch_size=len(found)
            )
        joined = set(waiting)
        if missing:
            keys = [(self.service, resource, entity_id, variant) for entity_id in missing]
            waiting[self._batches.start(keys, lambda: fetch(missing))].extend(missing)
        refused: list[str] = []
        for task, entity_ids in waiting.items():
            outcomes = await join(task)
            if task in joined:
                self._wire.record(
                    self._scope, "GET", route, "in-flight", started, batch_size=len(entity_ids)
                )
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
        response = await self._wire.send(
            self._scope, "POST", route, route, body=body, headers=headers
        )
        return self._wire.json(response)

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
        response = await self._wire.send(
            self._scope, "GET", url, route, params=params, headers=headers
        )
        freshness = Freshness.parse(response.headers.get("cache-control"))
        if response.status_code == 304:
            if known is None:
                raise BadResponse(self.service, f"{self.service} answered 304 unasked")
            self._cache.refresh(known[0], freshness)
            return Outcome(known[1].value, known[1].freshness, owner)
        value = self.parse(parse, self._wire.json(response))
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
                self._wire.send(
                    self._scope,
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
            for item in self.parse(_items, self._wire.json(response)):
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


def _url(route: str, path: Mapping[str, str] | None) -> str:
    return route.format_map({key: quote(value, safe="") for key, value in (path or {}).items()})


def _items(page: JsonObject) -> list[JsonObject]:
    return objects(page, "items")
