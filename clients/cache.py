"""The process-wide cache of downstream reads, shared by every request.

See docs/caching.md.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cachetools import LRUCache

if TYPE_CHECKING:
    from clients.remote_cache import RemoteCache

CacheKey = tuple[str, str, str, Hashable]
"""(service, resource, id, variant): e.g. ("reviews", "by-product", "p1", 5)."""
StoredKey = tuple[CacheKey, str | None]
"""A cache key plus the owner of a private entry (None for shared entries)."""


@dataclass(frozen=True, slots=True)
class Freshness:
    """What a response's `Cache-Control` lets a shared cache do with it."""

    store: bool = False
    max_age: float = 0.0
    revalidate: bool = False
    private: bool = False
    stale_if_error: float | None = None
    """Seconds past expiry the response may still stand in for a failed read (RFC 5861)."""

    @classmethod
    def parse(cls, header: str | None) -> Freshness:
        if not header:
            return cls()
        directives: dict[str, str | None] = {}
        for part in header.split(","):
            name, _, value = part.strip().partition("=")
            directives[name.strip().lower()] = value.strip().strip('"') or None
        max_age = _seconds(directives.get("s-maxage")) or _seconds(directives.get("max-age"))
        revalidate = "no-cache" in directives
        store = "no-store" not in directives and (max_age is not None or revalidate)
        return cls(
            store=store,
            max_age=max_age or 0.0,
            revalidate=revalidate,
            private="private" in directives,
            stale_if_error=_seconds(directives.get("stale-if-error")),
        )


def _seconds(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        return max(0.0, float(int(raw)))
    except ValueError:
        return None


@dataclass(slots=True)
class Entry:
    value: object
    freshness: Freshness
    stored_at: float
    size: int
    etag: str | None = None

    def is_fresh(self, now: float) -> bool:
        return not self.freshness.revalidate and now - self.stored_at < self.freshness.max_age

    def age(self, now: float) -> float:
        return now - self.stored_at

    def expired_for(self, now: float) -> float:
        """Seconds since the entry stopped being fresh (negative while fresh)."""
        return now - self.stored_at - (0.0 if self.freshness.revalidate else self.freshness.max_age)


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    revalidated: int = 0
    stored: int = 0
    evicted: int = 0
    invalidated: int = 0


class _Entries(LRUCache[StoredKey, Entry]):
    """Bytes-bounded LRU that also caps its entry count and keeps an id index."""

    def __init__(self, max_entries: int, max_bytes: int, stats: CacheStats) -> None:
        super().__init__(maxsize=max_bytes, getsizeof=lambda entry: entry.size)
        self.max_entries = max_entries
        self.stats = stats
        self.by_id: defaultdict[tuple[str, str, str], set[StoredKey]] = defaultdict(set)

    def __setitem__(self, key: StoredKey, entry: Entry) -> None:
        super().__setitem__(key, entry)
        self.by_id[key[0][:3]].add(key)
        while len(self) > self.max_entries:
            self.popitem()

    def __delitem__(self, key: StoredKey) -> None:
        super().__delitem__(key)
        ids = self.by_id.get(key[0][:3])
        if ids is not None:
            ids.discard(key)
            if not ids:
                del self.by_id[key[0][:3]]

    def popitem(self) -> tuple[StoredKey, Entry]:
        self.stats.evicted += 1
        return super().popitem()


class SharedCache:
    def __init__(
        self,
        *,
        max_entries: int = 50_000,
        max_bytes: int = 64 * 1024 * 1024,
        stale_if_error_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        remote: RemoteCache | None = None,
    ) -> None:
        self.max_bytes = max_bytes
        self.remote = remote
        self.stale_if_error_s = stale_if_error_s
        self.stats = CacheStats()
        self.now = clock
        self._entries = _Entries(max_entries, max_bytes, self.stats)

    def lookup(self, key: CacheKey, owner: str | None) -> tuple[StoredKey, Entry] | None:
        """The shared entry for `key`, else the one private to `owner`."""
        for stored_key in ((key, None), (key, owner)) if owner else ((key, None),):
            entry = self._entries.get(stored_key)
            if entry is not None:
                return stored_key, entry
        return None

    def may_serve_stale(self, entry: Entry) -> bool:
        """May this expired entry stand in for a read that just failed?

        Within the window the response's own `stale-if-error` gives, else
        within the cache's configured one.
        """
        window = entry.freshness.stale_if_error
        if window is None:
            window = self.stale_if_error_s
        return entry.expired_for(self.now()) <= window

    def put(
        self,
        key: CacheKey,
        owner: str | None,
        value: object,
        freshness: Freshness,
        *,
        size: int,
        etag: str | None = None,
        age: float = 0.0,
    ) -> bool:
        """Store what `freshness` allows; False when it may not be stored.

        `age`: seconds the answer has already been kept elsewhere (the Redis tier).
        """
        if not freshness.store or (freshness.private and owner is None):
            return False
        stored_key: StoredKey = (key, owner if freshness.private else None)
        # A generous per-entry overhead keeps tiny entries from escaping the byte bound.
        entry = Entry(value, freshness, self.now() - age, size + 200, etag)
        if entry.size > self.max_bytes:
            return False
        self._entries[stored_key] = entry
        self.stats.stored += 1
        return True

    def refresh(self, stored_key: StoredKey, freshness: Freshness) -> None:
        """A 304 said the entry is still good: restart its freshness clock."""
        entry = self._entries.get(stored_key)
        if entry is not None:
            entry.stored_at = self.now()
            if freshness.store:
                entry.freshness = freshness
            self.stats.revalidated += 1

    def invalidate(self, service: str, resource: str, ids: Iterable[str]) -> None:
        """Forget every entry of these ids, whatever their variant or owner."""
        for entity_id in ids:
            for stored_key in list(self._entries.by_id.get((service, resource, entity_id), ())):
                self._entries.pop(stored_key, None)
                self.stats.invalidated += 1

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def current_bytes(self) -> int:
        return int(self._entries.currsize)
