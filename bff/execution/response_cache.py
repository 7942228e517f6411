"""Whole responses of public operations, kept for as long as their policy allows.

See docs/caching.md, Responses.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

import orjson
from cachetools import TLRUCache


@dataclass(frozen=True, slots=True)
class StoredResponse:
    body: bytes
    stored_at: float
    max_age: int


@dataclass
class ResponseCacheStats:
    hits: int = 0
    misses: int = 0
    stored: int = 0


class ResponseCache:
    def __init__(
        self,
        *,
        max_bytes: int,
        vary: tuple[str, ...] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_bytes = max_bytes
        self._vary = tuple(header.lower() for header in vary)
        self._clock = clock
        self.stats = ResponseCacheStats()
        self._entries: TLRUCache[Hashable, StoredResponse] = TLRUCache(
            maxsize=max_bytes,
            ttu=lambda _key, stored, now: now + stored.max_age,
            timer=clock,
            getsizeof=lambda stored: len(stored.body) + 200,
        )

    def key(
        self,
        sha256: str,
        operation_name: str | None,
        variables: Mapping[str, object] | None,
        headers: Mapping[str, str],
    ) -> Hashable:
        # Hashed: variable values (personal data among them) never sit in a key.
        canonical = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS) if variables else b""
        digest = hashlib.sha256(canonical).hexdigest()
        return (sha256, operation_name, digest, tuple(headers.get(h) for h in self._vary))

    def get(self, key: Hashable) -> tuple[StoredResponse, int] | None:
        """The stored response and its age in whole seconds, if still fresh."""
        stored = self._entries.get(key)
        if stored is None:
            self.stats.misses += 1
            return None
        self.stats.hits += 1
        return stored, int(self._clock() - stored.stored_at)

    def put(self, key: Hashable, body: bytes, max_age: int) -> None:
        if len(body) + 200 > self._max_bytes:
            return
        self._entries[key] = StoredResponse(body, self._clock(), max_age)
        self.stats.stored += 1
