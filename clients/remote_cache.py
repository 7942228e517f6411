"""The downstream cache's second tier: Redis, shared by every replica.

See docs/caching.md, Shared tier in Redis, for its layout and invalidation.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import math
import os
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Final, cast
from urllib.parse import quote

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from redis.asyncio import Redis
from redis.exceptions import RedisError

from clients.cache import CacheKey, Freshness

MAX_TTL_S: Final = 86_400
"""Longest an entry lives in Redis, and how long a generation outlives its change."""
_SEALED: Final = b"\x01"
_log = logging.getLogger("clients.remote_cache")


@dataclass(frozen=True, slots=True)
class Found:
    """An entry read back from Redis: the downstream JSON and how to reuse it."""

    body: object
    cache_control: str
    etag: str | None
    age: float
    size: int

    @property
    def freshness(self) -> Freshness:
        return Freshness.parse(self.cache_control)


@dataclass(frozen=True, slots=True)
class Lookup:
    """What Redis holds for one key, and the generation a fill must carry."""

    found: Found | None
    generation: str | None


@dataclass
class RemoteStats:
    hits: int = 0
    misses: int = 0


class Sealer:
    """Encrypts private entries and names their owners, from one secret."""

    def __init__(self, secret: str) -> None:
        derived = HKDF(SHA256(), 64, salt=None, info=b"bff downstream cache v1").derive(
            secret.encode()
        )
        self._aead = AESGCM(derived[:32])
        self._mac_key = derived[32:]
        self.key_id = hashlib.sha256(derived[:32]).digest()[:4]

    def owner_tag(self, owner: str) -> str:
        return hmac.new(self._mac_key, owner.encode(), hashlib.sha256).hexdigest()[:32]

    def seal(self, plain: bytes, name: str) -> bytes:
        nonce = os.urandom(12)
        return _SEALED + self.key_id + nonce + self._aead.encrypt(nonce, plain, name.encode())

    def open(self, sealed: bytes, name: str) -> bytes | None:
        """The plaintext; None when sealed under another key or tampered with."""
        if sealed[:1] != _SEALED or sealed[1:5] != self.key_id:
            return None
        try:
            return self._aead.decrypt(sealed[5:17], sealed[17:], name.encode())
        except InvalidTag:
            return None


class RemoteCache:
    """Downstream answers in Redis, per the rules above."""

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = "bff:dc",
        secret: str = "",
        timeout_s: float = 0.05,
        pause_s: float = 5.0,
        on_error: Callable[[str], None] = lambda action: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._prefix = f"{prefix}:v1:"
        self._sealer = Sealer(secret) if secret else None
        self._timeout_s = timeout_s
        self._pause_s = pause_s
        self._on_error = on_error
        self._clock = clock
        self._paused_until = 0.0
        self._pending: set[asyncio.Task[None]] = set()
        self.stats = RemoteStats()

    def keeps(self, freshness: Freshness, owner: str | None) -> bool:
        """Whether an answer with this freshness, read for `owner`, goes to Redis."""
        if not freshness.store or freshness.revalidate or freshness.max_age <= 0:
            return False
        return not freshness.private or (self._sealer is not None and owner is not None)

    async def lookup(self, keys: Sequence[CacheKey], owner: str | None) -> dict[CacheKey, Lookup]:
        """What Redis holds for each key; empty when Redis is paused or failing."""
        if not keys or time.monotonic() < self._paused_until:
            return {}
        private = self._sealer is not None and owner is not None
        names = [
            name
            for key in keys
            for name in (
                self._generation_name(key),
                self._name(key, None),
                *((self._name(key, owner),) if private else ()),
            )
        ]
        try:
            async with asyncio.timeout(self._timeout_s):
                # The shared client leaves responses undecoded: bytes.
                values = cast(list[bytes | None], await self._redis.mget(names))
        except (RedisError, OSError, TimeoutError) as error:
            self._failed("get", error)
            return {}
        width = 3 if private else 2
        answers: dict[CacheKey, Lookup] = {}
        for index, key in enumerate(keys):
            row = values[index * width : (index + 1) * width]
            row_names = names[index * width : (index + 1) * width]
            generation = row[0].decode() if row[0] is not None else None
            found = self._decode(row[1], row_names[1], generation, sealed=False)
            if found is None and private:
                found = self._decode(row[2], row_names[2], generation, sealed=True)
            if found is None:
                self.stats.misses += 1
            else:
                self.stats.hits += 1
            answers[key] = Lookup(found, generation)
        return answers

    def fill(
        self,
        key: CacheKey,
        owner: str | None,
        body: object,
        cache_control: str,
        etag: str | None,
        generation: str | None,
    ) -> None:
        """Store a fresh network answer, in a task of its own; a no-op if not storable."""
        freshness = Freshness.parse(cache_control)
        if not self.keeps(freshness, owner) or time.monotonic() < self._paused_until:
            return
        name = self._name(key, owner if freshness.private else None)
        stored = {"at": self._clock(), "cc": cache_control, "etag": etag, "gen": generation}
        document = orjson.dumps({**stored, "body": body})
        if freshness.private:
            assert self._sealer is not None
            document = self._sealer.seal(document, name)
        ttl = min(MAX_TTL_S, math.ceil(freshness.max_age))
        self._spawn(self._call("put", self._redis.set(name, document, ex=ttl)))

    async def invalidate(self, service: str, resource: str, ids: Sequence[str]) -> None:
        """Make every stored entry of these ids a miss, whatever its variant or owner."""
        if not ids:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for entity_id in ids:
                name = self._generation_name((service, resource, entity_id, None))
                pipe.set(name, os.urandom(8).hex(), ex=MAX_TTL_S)
            await self._call("invalidate", pipe.execute())

    async def aclose(self) -> None:
        """Wait for fills still under way (each is bounded by the timeout)."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    def _spawn(self, call: Coroutine[object, object, None]) -> None:
        task = asyncio.ensure_future(call)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _call(self, action: str, command: Awaitable[object]) -> None:
        try:
            async with asyncio.timeout(self._timeout_s):
                await command
        except (RedisError, OSError, TimeoutError) as error:
            self._failed(action, error)

    def _decode(
        self, raw: bytes | None, name: str, generation: str | None, *, sealed: bool
    ) -> Found | None:
        if raw is None:
            return None
        if sealed:
            assert self._sealer is not None
            opened = self._sealer.open(raw, name)
            if opened is None:
                return None
            raw = opened
        elif raw[:1] == _SEALED:
            return None
        try:
            stored = orjson.loads(raw)
            at, cache_control, etag = stored["at"], stored["cc"], stored["etag"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return None
        if stored.get("gen") != generation:
            return None
        age = max(0.0, self._clock() - float(at))
        if age >= Freshness.parse(cache_control).max_age:
            return None
        return Found(stored.get("body"), cache_control, etag, age, len(raw))

    def _name(self, key: CacheKey, owner: str | None) -> str:
        service, resource, entity_id, variant = key
        name = self._prefix + ":".join(
            quote(part, safe="") for part in (service, resource, entity_id, repr(variant))
        )
        if owner is None:
            return name
        assert self._sealer is not None
        return f"{name}:u:{self._sealer.owner_tag(owner)}"

    def _generation_name(self, key: CacheKey) -> str:
        service, resource, entity_id, _ = key
        return self._prefix + ":".join(
            quote(part, safe="") for part in (service, resource, entity_id, "gen")
        )

    def _failed(self, action: str, error: BaseException) -> None:
        _log.warning("downstream cache in Redis failed (%s): %s", action, type(error).__name__)
        self._paused_until = time.monotonic() + self._pause_s
        self._on_error(action)
