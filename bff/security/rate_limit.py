"""Rate limits: a token bucket per caller, charged the operation's estimated cost.

See docs/security.md, Rate limits.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from cachetools import LRUCache
from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger("bff.security.rate_limit")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after_s: float = 0.0

    @property
    def retry_after_header(self) -> str:
        return str(max(1, math.ceil(self.retry_after_s)))


class Buckets(Protocol):
    async def take(self, key: str, cost: float) -> Decision: ...


class LocalBuckets:
    """Buckets in this process; the least recently used are forgotten (they were full)."""

    def __init__(
        self,
        capacity: float,
        refill_per_s: float,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._capacity = capacity
        self._rate = refill_per_s
        self._clock = clock
        self._buckets: LRUCache[str, tuple[float, float]] = LRUCache(max_keys)

    async def take(self, key: str, cost: float) -> Decision:
        now = self._clock()
        tokens, updated = self._buckets.get(key, (self._capacity, now))
        tokens = min(self._capacity, tokens + (now - updated) * self._rate)
        if tokens >= cost:
            self._buckets[key] = (tokens - cost, now)
            return Decision(True)
        self._buckets[key] = (tokens, now)
        return Decision(False, (cost - tokens) / self._rate)


_SCRIPT = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1]) or capacity
local updated = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - updated) * rate)
local allowed = 0
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  wait = (cost - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 1)
return {allowed, tostring(wait)}
"""


class RedisBuckets:
    """Buckets in Redis, shared by every replica that uses the same URL and prefix."""

    def __init__(
        self, redis: Redis, capacity: float, refill_per_s: float, *, prefix: str = "bff:rate:"
    ) -> None:
        self._redis = redis
        self._capacity = capacity
        self._rate = refill_per_s
        self._prefix = prefix
        self._script = redis.register_script(_SCRIPT)

    async def take(self, key: str, cost: float) -> Decision:
        try:
            allowed, wait = await self._script(
                keys=[self._prefix + key], args=[self._capacity, self._rate, cost]
            )
        except (RedisError, OSError) as error:
            logger.warning("rate limit not checked, Redis failed: %s", error)
            return Decision(True)
        return Decision(bool(int(allowed)), float(wait))


def trusted_networks(entries: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The address a request comes from, believing `X-Forwarded-For` only from trusted proxies."""
    if peer is None:
        return "unknown"
    if not forwarded_for or not _is_trusted(peer, trusted):
        return peer
    for hop in reversed([part.strip() for part in forwarded_for.split(",") if part.strip()]):
        if not _is_trusted(hop, trusted):
            return hop
    return peer


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


BYTES_PER_UNIT = 100
"""What a new document pays before it is parsed: one unit per this many bytes of text."""
ALLOWED = Decision(True)


def preparation_units(query: str) -> int:
    """What preparing a document not seen before costs, in cost units."""
    return max(1, len(query) // BYTES_PER_UNIT)


class Charge:
    """What one request has taken from its caller's bucket, topped up as its cost is learnt.

    Without a rate limiter (`buckets` None) every payment is allowed.
    """

    def __init__(self, buckets: Buckets | None, key: str, *, per_operation: bool) -> None:
        self._buckets = buckets
        self._key = key
        self._per_operation = per_operation
        self.paid = 0

    async def at_least(self, units: int) -> Decision:
        """Take what is missing for the request to have paid `units` (1 in all per request)."""
        wanted = max(1, units) if self._per_operation else 1
        if self._buckets is None or wanted <= self.paid:
            return ALLOWED
        decision = await self._buckets.take(self._key, wanted - self.paid)
        if decision.allowed:
            self.paid = wanted
        return decision


FREE = Charge(None, "", per_operation=False)
"""The charge of a request when no rate limit applies."""


class RateLimiter:
    """Which bucket a request draws on, and how much it takes."""

    def __init__(self, buckets: Buckets, *, trusted_proxies: Sequence[str], per_operation: bool):
        self._buckets = buckets
        self._trusted = trusted_networks(trusted_proxies)
        self._per_operation = per_operation

    def charge(self, *, user_id: str | None, peer: str | None, forwarded_for: str | None) -> Charge:
        """A new request's charge, on the caller's bucket: the user's, else the address's."""
        key = (
            f"user:{user_id}"
            if user_id
            else f"ip:{client_address(peer, forwarded_for, self._trusted)}"
        )
        return Charge(self._buckets, key, per_operation=self._per_operation)
