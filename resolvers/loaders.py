"""Per-request batching and deduplication of downstream reads.

See docs/execution.md and docs/caching.md.
"""

from __future__ import annotations

import asyncio
from asyncio import Future
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from clients.accounts import UserRecord
from clients.base import PerId
from clients.catalog import CategoryRecord, ProductRecord
from clients.errors import DownstreamError, NotFound
from clients.inventory import StockRecord
from clients.orders import OrderRecord
from clients.recommendations import Model, RecommendationsRecord
from clients.registry import Clients
from clients.reviews import RatingSummaryRecord, ReviewRecord
from resolvers.paths import FIELD_PATH, LOADING, FieldPath

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
_R = TypeVar("_R")
K_contra = TypeVar("K_contra", bound=Hashable, contravariant=True)

BatchFn = Callable[[list[K]], Coroutine[object, object, Sequence[V | BaseException]]]

ReviewsKey = tuple[str, int]
"""(product or author id, how many reviews)."""
OrdersKey = tuple[str, int]
"""(user id, how many orders)."""
RecommendationsKey = tuple[str, Model, int]
"""(user id, model, how many product ids)."""


class Loader(Protocol[K_contra, V]):
    def load(self, key: K_contra) -> Awaitable[V]: ...

    def prime(self, key: K_contra, value: V) -> object: ...

    def clear_all(self) -> object: ...


class LoaderObserver(Protocol):
    """Hears about loader batches and per-request memo hits (spans, metrics, debug)."""

    def batch(self, loader: str, *, keys: int, requested: int) -> AbstractContextManager[object]:
        """Wraps one batch: `keys` distinct keys, `requested` loads since the last one."""
        ...

    def memo_hit(self, loader: str) -> None: ...


class DirectLoader(Generic[K, V]):
    """One downstream call per `load()`: no batching, no memo."""

    def __init__(self, batch: BatchFn[K, V]) -> None:
        self._batch = batch

    async def load(self, key: K) -> V:
        (value,) = await self._batch([key])
        if isinstance(value, BaseException):
            raise value
        return value

    def prime(self, key: K, value: V) -> DirectLoader[K, V]:
        return self

    def clear_all(self) -> DirectLoader[K, V]:
        return self


@dataclass(frozen=True, slots=True)
class Loaders:
    users: Loader[str, UserRecord | None]
    products: Loader[str, ProductRecord | None]
    categories: Loader[str, CategoryRecord | None]
    stock: Loader[str, StockRecord | None]
    ratings: Loader[str, RatingSummaryRecord | None]
    reviews_by_product: Loader[ReviewsKey, tuple[ReviewRecord, ...]]
    reviews_by_author: Loader[ReviewsKey, tuple[ReviewRecord, ...]]
    orders: Loader[str, OrderRecord | None]
    orders_by_user: Loader[OrdersKey, tuple[OrderRecord, ...]]
    recommendations: Loader[RecommendationsKey, RecommendationsRecord]


def build_loaders(
    clients: Clients,
    *,
    batching: bool = True,
    max_concurrency: int = 8,
    observer: LoaderObserver | None = None,
) -> Loaders:
    """Create fresh loaders for one request. Must run inside its event loop."""

    loop = asyncio.get_running_loop()

    def loader(name: str, batch: BatchFn[K, V]) -> Loader[K, V]:
        if not batching:
            return DirectLoader(batch if observer is None else _observed(name, batch, observer))
        return BatchLoader(name, batch, observer, loop)

    async def reviews_by_product(
        keys: list[ReviewsKey],
    ) -> list[tuple[ReviewRecord, ...] | BaseException]:
        return await _per_limit(keys, clients.reviews.get_reviews_for_products)

    async def reviews_by_author(
        keys: list[ReviewsKey],
    ) -> list[tuple[ReviewRecord, ...] | BaseException]:
        return await _per_limit(keys, clients.reviews.get_reviews_by_authors)

    # The contract has no batch form for the reads below: the loader still
    # deduplicates keys, and caps how many single calls one request runs at once.
    gate = asyncio.Semaphore(max_concurrency)

    async def orders_by_user(
        keys: list[OrdersKey],
    ) -> list[tuple[OrderRecord, ...] | BaseException]:
        async def one(key: OrdersKey) -> tuple[OrderRecord, ...]:
            user_id, limit = key
            return await clients.orders.get_orders_for_user(user_id, limit=limit)

        return await _each(gate, keys, one)

    async def recommendations(
        keys: list[RecommendationsKey],
    ) -> list[RecommendationsRecord | BaseException]:
        async def one(key: RecommendationsKey) -> RecommendationsRecord:
            user_id, model, limit = key
            return await clients.recommendations.get_recommendations(
                user_id, model=model, limit=limit
            )

        return await _each(gate, keys, one)

    return Loaders(
        users=loader("users", _by_ids(clients.accounts.get_users)),
        products=loader("products", _by_ids(clients.catalog.get_products)),
        categories=loader("categories", _one_each(gate, clients.catalog.get_category)),
        stock=loader("stock", _by_ids(clients.inventory.get_stock)),
        ratings=loader("ratings", _by_ids(clients.reviews.get_summaries)),
        reviews_by_product=loader("reviews_by_product", reviews_by_product),
        reviews_by_author=loader("reviews_by_author", reviews_by_author),
        orders=loader("orders", _one_each(gate, clients.orders.get_order)),
        orders_by_user=loader("orders_by_user", orders_by_user),
        recommendations=loader("recommendations", recommendations),
    )


class BatchLoader(Generic[K, V]):
    """Keys asked for in one event-loop tick go out as one batch; each key once a request.

    `load()` returns the key's future at once: the memoised one, or a new one
    queued for the batch that runs on the next tick, in one task. A batch
    answers each key with its value or an exception, which fails that key
    alone; a batch that fails whole fails every key in it. With an
    observer, batches and memo hits are reported, and the fields waiting on
    each key are published in `LOADING` while the batch runs.
    """

    __slots__ = ("_batch", "_loads", "_loop", "_memo", "_name", "_observer", "_queue", "_requested")

    def __init__(
        self,
        name: str,
        batch: BatchFn[K, V],
        observer: LoaderObserver | None,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._name = name
        self._batch = batch
        self._observer = observer
        self._loop = loop
        self._memo: dict[K, Future[V]] = {}
        self._queue: list[tuple[K, Future[V]]] = []
        self._requested = 0
        self._loads: list[tuple[K, FieldPath]] = []

    def load(self, key: K) -> Future[V]:
        self._requested += 1
        if self._observer is not None:
            path = FIELD_PATH.get()
            if path is not None:
                self._loads.append((key, path))
        known = self._memo.get(key)
        if known is not None:
            if self._observer is not None:
                self._observer.memo_hit(self._name)
            return known
        future: Future[V] = self._loop.create_future()
        self._memo[key] = future
        self._queue.append((key, future))
        if len(self._queue) == 1:
            self._loop.call_soon(self._dispatch)
        return future

    def prime(self, key: K, value: V) -> BatchLoader[K, V]:
        if key not in self._memo:
            future: Future[V] = self._loop.create_future()
            future.set_result(value)
            self._memo[key] = future
        return self

    def clear_all(self) -> BatchLoader[K, V]:
        self._memo.clear()
        return self

    def _dispatch(self) -> None:
        self._loop.create_task(self._run())

    async def _run(self) -> None:
        # The queue is taken when the task starts, two ticks after the first load,
        # so loads made in the tick between join the batch too.
        queue, self._queue = self._queue, []
        keys = [key for key, _ in queue]
        requested, self._requested = self._requested, 0
        loads, self._loads = self._loads, []
        try:
            if self._observer is None:
                values = await self._batch(keys)
            else:
                token = LOADING.set(_Waiting(keys, loads))
                try:
                    with self._observer.batch(self._name, keys=len(keys), requested=requested):
                        values = await self._batch(keys)
                finally:
                    LOADING.reset(token)
            if len(values) != len(keys):
                raise RuntimeError(f"loader {self._name} answered {len(values)} of {len(keys)}")
        except Exception as failure:
            for _, future in queue:
                if not future.done():
                    future.set_exception(failure)
            return
        for (_, future), value in zip(queue, values, strict=True):
            if future.done():
                continue
            if isinstance(value, BaseException):
                future.set_exception(value)
            else:
                future.set_result(value)


class _Waiting(Generic[K]):
    """The fields waiting on one loader batch, by key."""

    def __init__(self, keys: list[K], loads: list[tuple[K, FieldPath]]) -> None:
        self._keys = keys
        self._loads = loads

    def paths_for(self, ids: Sequence[str]) -> list[FieldPath]:
        wanted = set(ids)
        matched = {key for key in self._keys if _entity_id(key) in wanted}
        # A read named by something other than the keys' ids: every field of the batch.
        keys = matched or set(self._keys)
        return [path for key, path in self._loads if key in keys]


def _entity_id(key: Hashable) -> object:
    """The id a loader key reads: the key itself, or the first part of a compound key."""
    return key[0] if isinstance(key, tuple) and key else key


def _observed(name: str, batch: BatchFn[K, V], observer: LoaderObserver) -> BatchFn[K, V]:
    async def observed(keys: list[K]) -> Sequence[V | BaseException]:
        with observer.batch(name, keys=len(keys), requested=len(keys)):
            return await batch(keys)

    return observed


def _by_ids(
    fetch: Callable[[list[str]], Awaitable[Mapping[str, _R | DownstreamError]]],
) -> BatchFn[str, _R | None]:
    """A batch read by ids: each id gets its record, its error, or None when unknown."""

    async def batch(ids: list[str]) -> list[_R | BaseException | None]:
        found = await fetch(ids)
        return [found.get(entity_id) for entity_id in ids]

    return batch


def _one_each(
    gate: asyncio.Semaphore, fetch: Callable[[str], Awaitable[_R]]
) -> BatchFn[str, _R | None]:
    """A read with no batch form: one call per id under `gate`; not found is None."""

    async def one(entity_id: str) -> _R | None:
        try:
            return await fetch(entity_id)
        except NotFound:
            return None

    async def batch(ids: list[str]) -> list[_R | BaseException | None]:
        return await _each(gate, ids, one)

    return batch


async def _per_limit(
    keys: list[ReviewsKey],
    fetch: Callable[..., Awaitable[PerId[tuple[ReviewRecord, ...]]]],
) -> list[tuple[ReviewRecord, ...] | BaseException]:
    """One batch call per distinct limit; each key gets its owner's reviews."""
    ids_by_limit: dict[int, list[str]] = defaultdict(list)
    for owner_id, limit in keys:
        ids_by_limit[limit].append(owner_id)
    limits = list(ids_by_limit)
    pages = await asyncio.gather(*(fetch(ids_by_limit[limit], limit=limit) for limit in limits))
    found = {limit: page for limit, page in zip(limits, pages, strict=True)}
    answers: list[tuple[ReviewRecord, ...] | BaseException] = []
    for owner_id, limit in keys:
        reviews = found[limit].get(owner_id, ())
        answers.append(reviews if isinstance(reviews, DownstreamError) else reviews[:limit])
    return answers


async def _each(
    gate: asyncio.Semaphore, keys: list[K], fetch: Callable[[K], Awaitable[V]]
) -> list[V | BaseException]:
    """Fetch keys one call each; a failure fails only its own key."""

    async def one(key: K) -> V | BaseException:
        async with gate:
            try:
                return await fetch(key)
            except DownstreamError as error:
                return error

    return await asyncio.gather(*(one(key) for key in keys))
