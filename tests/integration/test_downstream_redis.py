"""The downstream cache's Redis tier, against the real Redis on 127.0.0.1:6379.

Each test writes under a prefix of its own and deletes what it wrote. Two
`running_bff` over the same demo services stand for two replicas, so calls are
counted in one place.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from redis.asyncio import Redis

from bff.config.settings import Settings, SettingsError
from bff.contract.examples import PRODUCT_PAGE
from clients.remote_cache import Sealer
from demo.services import ALL_NAMES, build_services
from tests.harness import Harness, running_bff, sample, signed_in

REDIS_URL = "redis://127.0.0.1:6379/0"
KEY = "k" * 40
STOCK = "query S($id: ID!) { product(id: $id) { stock { available } } }"
ORDER = """
  mutation {
    placeOrder(input: {lines: [{productId: "p12", quantity: 1}]}, idempotencyKey: "r1") { id }
  }
"""


@dataclass
class Tier:
    redis: Redis
    prefix: str
    env: dict[str, str] = field(default_factory=dict)

    async def names(self) -> list[str]:
        return sorted([name.decode() async for name in self.redis.scan_iter(self.prefix + ":*")])

    async def settled(self) -> list[str]:
        """The tier's keys once the fills under way have landed (they are not awaited)."""
        seen: list[str] = []
        for _ in range(100):
            await asyncio.sleep(0.02)
            names = await self.names()
            if names and names == seen:
                return names
            seen = names
        return seen


@asynccontextmanager
async def replicas(env: Mapping[str, str]) -> AsyncIterator[tuple[Harness, Harness]]:
    """Two BFFs over the same demo services, as two replicas would be."""
    demo = build_services(ALL_NAMES)
    async with running_bff(env, demo=demo) as first, running_bff(env, demo=demo) as second:
        yield first, second


@pytest.fixture
async def tier() -> AsyncIterator[Tier]:
    redis = Redis.from_url(REDIS_URL)
    prefix = f"bff-test:{uuid.uuid4().hex}"
    env = {
        "BFF_REDIS_URL": REDIS_URL,
        "BFF_DOWNSTREAM_CACHE_REDIS": "true",
        "BFF_DOWNSTREAM_CACHE_REDIS_PREFIX": prefix,
        "BFF_DOWNSTREAM_CACHE_REDIS_TIMEOUT_MS": "1000",
        "BFF_RESPONSE_CACHE": "false",
    }
    try:
        yield Tier(redis, prefix, env)
    finally:
        names = [name async for name in redis.scan_iter(prefix + ":*")]
        if names:
            await redis.delete(*names)
        await redis.aclose()


async def test_a_fill_on_one_replica_is_a_hit_on_the_other(tier: Tier) -> None:
    async with replicas(tier.env) as (first, second):
        filled = await first.run(PRODUCT_PAGE)
        names = await tier.settled()
        second.reset_calls()
        reused = await second.run(PRODUCT_PAGE)
        calls = second.calls_by_route()
        metrics = await second.metrics()

    assert reused.body == filled.body
    assert "errors" not in reused.body
    # Review authors are private and the caller anonymous: neither tier keeps them.
    assert calls == {"accounts GET /users": 1}
    assert not [name for name in names if ":accounts:" in name]
    assert sample(metrics, "bff_cache_lookups_total", cache="downstream_redis", result="hit") == 5
    # One miss per review author.
    assert sample(metrics, "bff_cache_lookups_total", cache="downstream_redis", result="miss") > 0


async def test_private_answers_stay_in_process_without_a_key(tier: Tier) -> None:
    async with running_bff(tier.env) as bff:
        reply = await bff.query("{ me { name email } }", headers=signed_in("u1"))
        names = await tier.settled()

    assert reply.data["me"]["name"] == "Ada Lovelace"
    assert not [name for name in names if ":accounts:" in name]


async def test_private_answers_are_sealed_and_served_to_their_caller_only(tier: Tier) -> None:
    ada = signed_in("u1")
    async with replicas({**tier.env, "BFF_DOWNSTREAM_CACHE_KEY": KEY}) as (first, second):
        filled = await first.query('{ user(id: "u1") { name email } }', headers=ada)
        names = [name for name in await tier.settled() if ":accounts:" in name]
        raw = await tier.redis.get(names[0])
        second.reset_calls()
        reused = await second.query('{ user(id: "u1") { name email } }', headers=ada)
        reused_calls = second.calls()
        other = await second.query('{ user(id: "u1") { name } }', headers=signed_in("u2"))

    assert len(names) == 1
    assert ":u:" in names[0]
    assert "u1" not in names[0].rsplit(":u:", 1)[1]
    assert isinstance(raw, bytes)
    assert raw.startswith(b"\x01")
    email = filled.data["user"]["email"]
    assert b"Ada" not in raw
    assert email.encode() not in raw
    assert reused.data == filled.data
    assert reused_calls == 0
    assert other.data["user"]["name"] == "Ada Lovelace"
    assert second.calls() == 1


def test_a_sealed_entry_opens_only_under_its_own_name_and_key() -> None:
    sealer = Sealer(KEY)
    sealed = sealer.seal(b"secret", "a")

    assert sealer.open(sealed, "a") == b"secret"
    assert sealer.open(sealed, "b") is None
    assert Sealer("x" * 40).open(sealed, "a") is None


async def test_a_mutation_clears_redis_too(tier: Tier) -> None:
    async with replicas(tier.env) as (first, second):
        before = await first.query(STOCK, {"id": "p12"})
        await tier.settled()
        placed = await first.query(ORDER, headers=signed_in("u1"))
        after = await second.query(STOCK, {"id": "p12"})

    assert "errors" not in placed.body
    available = before.data["product"]["stock"]["available"]
    assert after.data["product"]["stock"]["available"] == available - 1


async def test_requests_succeed_when_redis_is_unreachable() -> None:
    env = {
        "BFF_REDIS_URL": "redis://127.0.0.1:1/0",
        "BFF_DOWNSTREAM_CACHE_REDIS": "true",
        "BFF_RESPONSE_CACHE": "false",
    }
    async with running_bff(env) as bff:
        first = await bff.run(PRODUCT_PAGE, id="p3")
        after_first = await bff.metrics()
        second = await bff.run(PRODUCT_PAGE, id="p4")
        after_second = await bff.metrics()

    assert "errors" not in first.body
    assert "errors" not in second.body
    errors = sample(after_first, "bff_redis_errors_total", use="downstream_cache", action="get")
    assert errors >= 1
    # Paused after the failure: the next reads do not wait on Redis again.
    assert errors == sample(
        after_second, "bff_redis_errors_total", use="downstream_cache", action="get"
    )


class Proxy:
    """A TCP relay to Redis that a test can cut, as if Redis had stopped."""

    def __init__(self) -> None:
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", 6379)
        self._writers += [writer, upstream_writer]
        await asyncio.gather(
            _pipe(reader, upstream_writer), _pipe(upstream_reader, writer), return_exceptions=True
        )

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        await self._server.wait_closed()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while chunk := await reader.read(65536):
        writer.write(chunk)
        await writer.drain()
    writer.close()


async def test_requests_succeed_when_redis_stops_mid_run(tier: Tier) -> None:
    proxy = Proxy()
    port = await proxy.start()
    env = {**tier.env, "BFF_REDIS_URL": f"redis://127.0.0.1:{port}/0"}
    env["BFF_DOWNSTREAM_CACHE_REDIS_TIMEOUT_MS"] = "50"
    async with running_bff(env) as bff:
        before = await bff.run(PRODUCT_PAGE, id="p5")
        assert await tier.settled()
        await proxy.stop()
        during = await bff.run(PRODUCT_PAGE, id="p6")
        again = await bff.run(PRODUCT_PAGE, id="p5")
        metrics = await bff.metrics()

    assert "errors" not in before.body
    assert "errors" not in during.body
    assert again.body == before.body
    assert sample(metrics, "bff_redis_errors_total", use="downstream_cache", action="get") >= 1


def test_the_tier_needs_a_redis_url() -> None:
    with pytest.raises(SettingsError, match="BFF_REDIS_URL"):
        Settings.from_environ({"BFF_DOWNSTREAM_CACHE_REDIS": "true"})
    with pytest.raises(SettingsError, match="BFF_DOWNSTREAM_CACHE_KEY"):
        Settings.from_environ({"BFF_DOWNSTREAM_CACHE_KEY": "short"})
