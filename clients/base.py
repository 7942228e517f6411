"""Shared mechanics of every downstream client: reads, cached and coalesced.

See docs/caching.md for the path every read takes.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable, Coroutine, Hashable, Mapping, Sequence
from typing import Self, TypeVar, cast
from urllib.parse import quote

from clients.cache import CacheKey, Entry, Freshness, SharedCache, StoredKey
from clients.decoding import JsonObject, RecordError, objects
from clients.errors import BadResponse, DownstreamError, Timeout, Unavailable
from clients.flight import InFlight, Outcome, join
from clients.http import CallScope, ServiceConfig, ServiceHttp
from clients.remote_cache import Lookup
from clients.resilience import Resilience
from clients.wire import Wire

BATCH_LIMIT = 100
"""Most ids one batch request may name, per the downstream contract."""

_T = TypeVar("_T")
_R = TypeVar("_R")
Batch = dict[str, Outcome[object]]
Known = tuple[StoredKey, Entry]
"""An expired entry of the shared cache: it may be revalidated, or stand in for a failed read."""
Fetch = Callable[[list[str], Mapping[str, Known]], Coroutine[object, object, Batch]]
"""Reads ids from the service (or the Redis tier), given their expired entries."""
PerId = dict[str, _T | DownstreamError]
"""A batch read's answer: per id, its value or why it could not be had."""


class ServiceClient:
    """Cached, coalesced GETs and plain POSTs against one service, errors mapped once."""

    def __init__(
        self,
        service: str,
        wire: Wire,
        config: ServiceConfig,
        cache: SharedCache | None = None,
        resilience: Resilience | None = None,
    ) -> None:
        self.service = service
        self._wire = ServiceHttp(service, wire, config, resilience)
        self._cache = cache
        self._flights: InFlight[Batch] = InFlight()
        self._scope = CallScope()

    def scoped(self, scope: CallScope) -> Self:
        # Built field by field: copy.copy goes through __reduce_ex__, several times
        # slower, and every request scopes every client.
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._scope = scope
        return clone

    async def aclose(self) -> None:
        await self._wire.aclose()

    async def ping(self) -> bool:
        """True when the service answers its health path with a 2xx."""
        return await self._wire.ping()

    @property
    def resilience(self) -> Resilience:
        return self._wire.resilience

    async def forget(self, resource: str, ids: Sequence[str]) -> None:
        """Drop cached reads of these ids, in process and in Redis: they have just changed."""
        if self._cache is not None:
            self._cache.invalidate(self.service, resource, ids)
            if self._cache.remote is not None:
                await self._cache.remote.invalidate(self.service, resource, ids)

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
        """GET one JSON document and parse it: a read of one id (`key`), as a batch is.

        `resource`, `key` and `variant` name the read in the cache; they must
        determine the request as fully as `route`, `path` and `params` do.
        """
        url = _url(route, path)
        owner = self._scope.caller_id

        async def fetch(ids: list[str], known: Mapping[str, Known]) -> Batch:
            cache_key: CacheKey = (self.service, resource, key, variant)
            outcome = await self._read_one(
                url, route, params, parse, cache_key, owner, known.get(key)
            )
            return {key: outcome}

        value = (await self._read(route, [key], fetch, resource, variant, batched=False))[key]
        if isinstance(value, DownstreamError):
            raise value
        return cast(_T, value)

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
        return await self.get(
            route, _page_of(parse_item), resource=resource, key=key, variant=variant, params=params
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
    ) -> PerId[tuple[_T, ...]]:
        """Items per id, read in chunks of at most `BATCH_LIMIT` ids, cached per id.

        Every id asked for is a key of the answer; an id the service did not
        return maps to an empty tuple, one it could not be asked about (and
        that has no stale answer) to the `DownstreamError` that says why.
        """
        owner = self._scope.caller_id

        async def fetch(missing: list[str], known: Mapping[str, Known]) -> Batch:
            return await self._read_batch(
                route, id_param, missing, parse_item, id_of, resource, variant, params, owner
            )

        found = await self._read(
            route, list(dict.fromkeys(ids)), fetch, resource, variant, batched=True
        )
        return cast(PerId[tuple[_T, ...]], found)

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
        route: str,
        ids: list[str],
        fetch: Fetch,
        resource: str,
        variant: Hashable,
        *,
        batched: bool,
    ) -> dict[str, object]:
        """Each id's value, or the `DownstreamError` that kept it from being read.

        The one read path: fresh entries of the shared cache answer at once; an
        id another request is already reading joins that read; the rest are
        fetched together (`fetch` gets the expired entries it may revalidate).
        Where a read fails and an expired entry is young enough, it stands in.
        Reports give batch sizes for `batched` reads only.
        """
        found: dict[str, object] = {}
        cache = self._cache
        if cache is None:
            await self._fetch_into(found, ids, fetch, {})
            return found
        owner = self._scope.caller_id
        started = time.perf_counter()
        waiting: dict[asyncio.Task[Batch], list[str]] = {}
        missing: list[str] = []
        expired: dict[str, Known] = {}
        now = cache.now()
        oldest = 0.0
        answered = 0
        service = self.service
        for entity_id in ids:
            cache_key: CacheKey = (service, resource, entity_id, variant)
            hit = cache.lookup(cache_key, owner)
            if hit is not None and hit[1].is_fresh(now):
                cache.stats.hits += 1
                found[entity_id] = hit[1].value
                oldest = max(oldest, hit[1].age(now))
                answered += 1
                continue
            cache.stats.misses += 1
            if hit is not None:
                expired[entity_id] = hit
            task = self._flights.find(cache_key)
            if task is not None:
                waiting.setdefault(task, []).append(entity_id)
            else:
                missing.append(entity_id)
        if answered:
            self._wire.record(
                self._scope,
                "GET",
                route,
                "shared",
                started,
                age=oldest,
                batch_size=answered if batched else None,
            )
        joined = set(waiting)
        if missing:
            keys = [(service, resource, entity_id, variant) for entity_id in missing]
            known = {entity_id: expired[entity_id] for entity_id in missing if entity_id in expired}
            flight = self._flights.start(keys, lambda: fetch(missing, known))
            waiting.setdefault(flight, []).extend(missing)
        refused: list[str] = []
        for task, entity_ids in waiting.items():
            try:
                outcomes = await self._join(task)
            except DownstreamError as failure:
                found.update(dict.fromkeys(entity_ids, failure))
                continue
            if task in joined:
                self._wire.record(
                    self._scope,
                    "GET",
                    route,
                    "in-flight",
                    started,
                    batch_size=len(entity_ids) if batched else None,
                )
            for entity_id in entity_ids:
                outcome = outcomes[entity_id]
                if outcome.serves(owner):
                    found[entity_id] = outcome.value
                else:
                    refused.append(entity_id)
        if refused:
            # Another caller's private answer: read again, as this caller.
            await self._fetch_into(found, refused, fetch, expired)
        if expired:
            self._stand_in_stale(found, expired, route, started)
        return {entity_id: found[entity_id] for entity_id in ids}

    async def _join(self, task: asyncio.Task[_R]) -> _R:
        """Wait for a shared call, but not past this request's deadline."""
        left = self._scope.time_left()
        if left is None:
            return await join(task)
        try:
            async with asyncio.timeout(max(0.0, left)):
                return await join(task)
        except TimeoutError:
            raise Timeout(
                self.service, f"{self.service} did not answer within the operation's time budget"
            ) from None

    async def _fetch_into(
        self,
        found: dict[str, object],
        ids: list[str],
        fetch: Fetch,
        known: Mapping[str, Known],
    ) -> None:
        try:
            fetched = await fetch(ids, known)
        except DownstreamError as failure:
            found.update(dict.fromkeys(ids, failure))
            return
        found.update((entity_id, fetched[entity_id].value) for entity_id in ids)

    def _stand_in_stale(
        self,
        found: dict[str, object],
        expired: Mapping[str, Known],
        route: str,
        started: float,
    ) -> None:
        """Replace failed ids by expired answers still within the stale-if-error window."""
        assert self._cache is not None
        by_failure: dict[DownstreamError, list[tuple[str, Entry]]] = defaultdict(list)
        for entity_id, value in found.items():
            known = expired.get(entity_id)
            entry = known[1] if known is not None else None
            if (
                isinstance(value, DownstreamError)
                and _stands_in(value)
                and entry is not None
                and self._cache.may_serve_stale(entry)
            ):
                by_failure[value].append((entity_id, entry))
        for failure, stale in by_failure.items():
            for entity_id, entry in stale:
                found[entity_id] = entry.value
            self._record_stale(route, started, failure, stale)

    def _record_stale(
        self,
        route: str,
        started: float,
        failure: DownstreamError,
        stale: Sequence[tuple[str, Entry]],
    ) -> None:
        assert self._cache is not None
        now = self._cache.now()
        self._wire.record(
            self._scope,
            "GET",
            route,
            "stale",
            started,
            error=failure.code.value,
            age=max(entry.age(now) for _, entry in stale),
            batch_size=len(stale),
            ids=tuple(entity_id for entity_id, _ in stale),
        )

    async def _read_one(
        self,
        url: str,
        route: str,
        params: Mapping[str, str] | None,
        parse: Callable[[JsonObject], object],
        cache_key: CacheKey,
        owner: str | None,
        known: Known | None,
    ) -> Outcome[object]:
        """One GET: from the Redis tier if it has it, else the network (conditional on an ETag)."""
        if self._cache is None:
            response = await self._wire.send(self._scope, "GET", url, route, params=params)
            value = self.parse(parse, self._wire.json(response))
            return Outcome(value, Freshness.parse(response.headers.get("cache-control")), owner)
        remote = self._cache.remote
        lookup = None
        if remote is not None:
            started = time.perf_counter()
            lookup = (await remote.lookup([cache_key], owner)).get(cache_key)
            adopted = self._adopt(cache_key, owner, lookup, parse)
            if adopted is not None:
                self._wire.record(self._scope, "GET", route, "shared", started, age=adopted[1])
                return adopted[0]
        known_etag = known[1].etag if known is not None else None
        headers = {"if-none-match": known_etag} if known_etag else None
        response = await self._wire.send(
            self._scope, "GET", url, route, params=params, headers=headers
        )
        freshness = Freshness.parse(response.headers.get("cache-control"))
        if response.status == 304 and known is not None:
            self._cache.refresh(known[0], freshness)
            return Outcome(known[1].value, known[1].freshness, owner)
        document = self._wire.json(response)
        value = self.parse(parse, document)
        etag = response.headers.get("etag")
        self._cache.put(cache_key, owner, value, freshness, size=len(response.body), etag=etag)
        if remote is not None and lookup is not None:
            header = response.headers.get("cache-control", "")
            remote.fill(cache_key, owner, document, header, etag, lookup.generation)
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
        outcomes: Batch = {}
        remote = self._cache.remote if self._cache is not None else None
        lookups: dict[CacheKey, Lookup] = {}
        if remote is not None:
            lookups = await self._remote_batch(
                route, ids, _page_of(parse_item), resource, variant, owner, outcomes
            )
            ids = [entity_id for entity_id in ids if entity_id not in outcomes]
            if not ids:
                return outcomes
        chunks = [ids[start : start + BATCH_LIMIT] for start in range(0, len(ids), BATCH_LIMIT)]
        sends = [
            self._wire.send(
                self._scope,
                "GET",
                route,
                route,
                params={**(params or {}), id_param: ",".join(chunk)},
                batch_size=len(chunk),
            )
            for chunk in chunks
        ]
        # Most batches are one chunk: awaited here rather than in a task of their own.
        responses = [await sends[0]] if len(sends) == 1 else await asyncio.gather(*sends)
        for chunk, response in zip(chunks, responses, strict=True):
            header = response.headers.get("cache-control", "")
            freshness = Freshness.parse(header)
            shared = remote is not None and remote.keeps(freshness, owner)
            grouped: dict[str, list[_T]] = {entity_id: [] for entity_id in chunk}
            items: dict[str, list[JsonObject]] = defaultdict(list)
            for item in self.parse(_items, self._wire.json(response)):
                record = self.parse(parse_item, item)
                grouped.setdefault(id_of(record), []).append(record)
                if shared:
                    items[id_of(record)].append(item)
            share = len(response.body) // len(chunk)
            for entity_id in chunk:
                value = tuple(grouped[entity_id])
                cache_key: CacheKey = (self.service, resource, entity_id, variant)
                if self._cache is not None:
                    self._cache.put(cache_key, owner, value, freshness, size=share)
                lookup = lookups.get(cache_key)
                if shared and remote is not None and lookup is not None:
                    page = {"items": items[entity_id]}
                    remote.fill(cache_key, owner, page, header, None, lookup.generation)
                outcomes[entity_id] = Outcome(value, freshness, owner)
        return outcomes

    async def _remote_batch(
        self,
        route: str,
        ids: list[str],
        parse_page: Callable[[JsonObject], tuple[object, ...]],
        resource: str,
        variant: Hashable,
        owner: str | None,
        outcomes: Batch,
    ) -> dict[CacheKey, Lookup]:
        """Answer into `outcomes` the ids the Redis tier holds; the lookups, for fills."""
        assert self._cache is not None
        assert self._cache.remote is not None
        started = time.perf_counter()
        keys: dict[str, CacheKey] = {
            entity_id: (self.service, resource, entity_id, variant) for entity_id in ids
        }
        lookups = await self._cache.remote.lookup(list(keys.values()), owner)
        oldest = 0.0
        for entity_id, cache_key in keys.items():
            adopted = self._adopt(cache_key, owner, lookups.get(cache_key), parse_page)
            if adopted is not None:
                outcomes[entity_id] = adopted[0]
                oldest = max(oldest, adopted[1])
        if outcomes:
            self._wire.record(
                self._scope, "GET", route, "shared", started, age=oldest, batch_size=len(outcomes)
            )
        return lookups

    def _adopt(
        self,
        cache_key: CacheKey,
        owner: str | None,
        lookup: Lookup | None,
        parse: Callable[[JsonObject], _R],
    ) -> tuple[Outcome[_R], float] | None:
        """A Redis hit rebuilt into records and kept in process; with its age.

        None on a miss, or when the stored JSON no longer parses (a miss too).
        """
        assert self._cache is not None
        found = lookup.found if lookup is not None else None
        if found is None or not isinstance(found.body, dict):
            return None
        try:
            value = parse(found.body)
        except RecordError:
            return None
        freshness = found.freshness
        self._cache.put(
            cache_key, owner, value, freshness, size=found.size, etag=found.etag, age=found.age
        )
        return Outcome(value, freshness, owner), found.age


def _url(route: str, path: Mapping[str, str] | None) -> str:
    return route.format_map({key: quote(value, safe="") for key, value in (path or {}).items()})


def _items(page: JsonObject) -> list[JsonObject]:
    return objects(page, "items")


def _page_of(parse_item: Callable[[JsonObject], _T]) -> Callable[[JsonObject], tuple[_T, ...]]:
    """A parser of `{"items": [...]}`, the shape one id's batch answer is kept in."""
    return lambda page: tuple(parse_item(item) for item in objects(page, "items"))


def _stands_in(failure: DownstreamError) -> bool:
    """Failures a stale answer may cover: the service could not answer, not "no"."""
    return isinstance(failure, Timeout | Unavailable | BadResponse)


def firsts(found: PerId[tuple[_T, ...]]) -> PerId[_T]:
    """For endpoints with one item per id: that item; ids without one are left out."""
    return {
        key: items if isinstance(items, DownstreamError) else items[0]
        for key, items in found.items()
        if isinstance(items, DownstreamError) or items
    }
