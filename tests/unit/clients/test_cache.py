"""The shared downstream cache, counted at the real demo services.

A controllable clock stands in for waiting out `max-age`; only what a demo
service cannot produce (`no-store`, `s-maxage`, no `Cache-Control`) is answered
by hand.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from clients.cache import Freshness, SharedCache
from clients.catalog import CatalogClient
from clients.errors import NotFound, Unavailable
from clients.http import CallScope, ServiceConfig, open_http
from clients.recording import Exchange
from clients.registry import SERVICES, Clients, open_clients
from clients.resilience import ResiliencePolicy
from clients.retry import RetryPolicy
from demo.services import DemoService, build_services
from tests.harness import Clock, answered


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def demo() -> dict[str, DemoService]:
    return build_services()


@pytest.fixture
async def clients(demo: dict[str, DemoService], clock: Clock) -> AsyncIterator[Clients]:
    configs = {name: ServiceConfig(base_url=f"http://{name}.test") for name in SERVICES}
    transports = {name: httpx.ASGITransport(app=service.app) for name, service in demo.items()}
    opened = open_clients(configs, transports, SharedCache(clock=clock))
    try:
        yield opened
    finally:
        await opened.aclose()


def queries(service: DemoService) -> list[str]:
    return [record.query for record in service.stats.recent()]


async def test_public_reads_are_reused_within_max_age_then_revalidated(
    clients: Clients, demo: dict[str, DemoService], clock: Clock
) -> None:
    first = await clients.catalog.get_category("c3")
    again = await clients.catalog.get_category("c3")
    clock.now += 61  # catalog answers `public, max-age=60`
    later = await clients.catalog.get_category("c3")

    assert first is again is later
    requests = demo["catalog"].stats.recent()
    assert len(requests) == 2
    assert "if-none-match" not in requests[0].headers
    assert requests[1].headers["if-none-match"].startswith('"')
    clock.now += 30  # the 304 restarted the entry's clock
    await clients.catalog.get_category("c3")
    assert demo["catalog"].stats.total() == 2


async def test_batch_reads_are_cached_per_id(
    clients: Clients, demo: dict[str, DemoService]
) -> None:
    await clients.catalog.get_products(["p1", "p2"])
    found = await clients.catalog.get_products(["p2", "p3"])

    assert sorted(found) == ["p2", "p3"]
    assert queries(demo["catalog"]) == ["ids=p1%2Cp2", "ids=p3"]


async def test_unknown_ids_are_remembered_as_absent(
    clients: Clients, demo: dict[str, DemoService]
) -> None:
    assert await clients.catalog.get_products(["p999999"]) == {}
    assert await clients.catalog.get_products(["p999999"]) == {}

    assert demo["catalog"].stats.total() == 1


async def test_private_reads_serve_only_the_caller_they_were_read_for(
    clients: Clients, demo: dict[str, DemoService]
) -> None:
    ada = clients.accounts.scoped(CallScope(caller_id="u1"))
    bob = clients.accounts.scoped(CallScope(caller_id="u2"))

    await ada.get_users(["u7"])
    await ada.get_users(["u7"])
    assert demo["accounts"].stats.total() == 1  # `private, max-age=30`: kept for u1

    await bob.get_users(["u7"])
    assert demo["accounts"].stats.total() == 2  # never served across callers

    await clients.accounts.get_users(["u7"])
    await clients.accounts.get_users(["u7"])
    assert demo["accounts"].stats.total() == 4  # no caller: never stored


async def test_no_cache_reads_are_revalidated_on_every_use(
    clients: Clients, demo: dict[str, DemoService]
) -> None:
    orders = clients.orders.scoped(CallScope(caller_id="u1"))

    first = await orders.get_orders_for_user("u1", limit=3)
    second = await orders.get_orders_for_user("u1", limit=3)

    assert second is first  # the 304 handed back the stored records
    requests = demo["orders"].stats.recent()
    assert len(requests) == 2  # `private, no-cache`: asked every time
    assert requests[1].headers["if-none-match"].startswith('"')


async def test_writes_forget_what_they_change(
    clients: Clients, demo: dict[str, DemoService]
) -> None:
    before = await clients.reviews.get_summaries(["p2"])
    await clients.reviews.get_reviews_for_products(["p2"], limit=3)
    await clients.reviews.create_review(product_id="p2", author_id="u3", rating=5, body="Great")
    after = await clients.reviews.get_summaries(["p2"])
    newest = await clients.reviews.get_reviews_for_products(["p2"], limit=3)

    assert answered(after["p2"]).count == answered(before["p2"]).count + 1
    assert answered(newest["p2"])[0].body == "Great"
    assert demo["reviews"].stats.by_route()["GET /reviews/summary"] == 2
    assert demo["reviews"].stats.by_route()["GET /reviews"] == 2


async def test_concurrent_identical_reads_share_one_call(
    clients: Clients, demo: dict[str, DemoService]
) -> None:
    demo["catalog"].faults.latency_ms = 20  # keep the first call in flight a while

    categories = await asyncio.gather(*(clients.catalog.get_category("c5") for _ in range(20)))
    batches = await asyncio.gather(
        *(clients.catalog.get_products(["p1", "p2", f"p{n}"]) for n in range(3, 8))
    )

    assert len({id(category) for category in categories}) == 1
    assert all(answered(batch["p1"]).id == "p1" for batch in batches)
    # p1 and p2 were asked for once, by the first batch; the others joined it.
    assert queries(demo["catalog"])[1:] == [
        "ids=p1%2Cp2%2Cp3",
        "ids=p4",
        "ids=p5",
        "ids=p6",
        "ids=p7",
    ]


async def test_a_cancelled_caller_does_not_cancel_the_shared_call(
    clients: Clients, demo: dict[str, DemoService]
) -> None:
    hold = demo["catalog"].faults.hold
    hold.catch(1)
    impatient = asyncio.ensure_future(clients.catalog.get_category("c6"))
    patient = asyncio.ensure_future(clients.catalog.get_category("c6"))
    await hold.caught(1)  # the shared call is under way
    impatient.cancel()
    await asyncio.gather(impatient, return_exceptions=True)
    await hold.release()

    assert (await patient).id == "c6"
    assert impatient.cancelled()
    assert demo["catalog"].stats.total() == 1


Handler = Callable[[httpx.Request], httpx.Response]


def catalog_answering(cache_control: str | None, clock: Clock) -> tuple[CatalogClient, list[int]]:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        headers = {"cache-control": cache_control} if cache_control else {}
        return httpx.Response(
            200, json={"id": "c1", "name": "Kitchen", "parentId": None}, headers=headers
        )

    config = ServiceConfig(base_url="http://catalog.test")
    http = open_http(config, httpx.MockTransport(handler))
    return CatalogClient("catalog", http, config, SharedCache(clock=clock)), calls


@pytest.mark.parametrize(
    ("cache_control", "advance", "expected_calls"),
    [
        ("public, max-age=60, no-store", 0, 2),  # no-store wins
        (None, 0, 2),  # no freshness information: nothing stored
        ("public, s-maxage=5, max-age=600", 4, 1),  # a shared cache obeys s-maxage ...
        ("public, s-maxage=5, max-age=600", 6, 2),  # ... over max-age
        ("public, max-age=0", 0, 2),
    ],
)
async def test_directives_no_demo_service_sends(
    clock: Clock, cache_control: str | None, advance: float, expected_calls: int
) -> None:
    catalog, calls = catalog_answering(cache_control, clock)

    await catalog.get_category("c1")
    clock.now += advance
    await catalog.get_category("c1")

    assert len(calls) == expected_calls


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("public, max-age=60", Freshness(store=True, max_age=60)),
        ("private, max-age=30", Freshness(store=True, max_age=30, private=True)),
        ("private, no-cache", Freshness(store=True, revalidate=True, private=True)),
        ("no-store", Freshness()),
        ("max-age=abc", Freshness()),
        ('S-MAXAGE="7", max-age=60', Freshness(store=True, max_age=7)),
    ],
)
def test_cache_control_parsing(header: str, expected: Freshness) -> None:
    assert Freshness.parse(header) == expected


def test_the_cache_is_bounded_by_entries_and_by_bytes() -> None:
    by_count = SharedCache(max_entries=3, max_bytes=10**9)
    by_bytes = SharedCache(max_entries=1000, max_bytes=2500)
    fresh = Freshness(store=True, max_age=60)
    for n in range(10):
        by_count.put(("s", "r", f"k{n}", None), None, n, fresh, size=10)
        by_bytes.put(("s", "r", f"k{n}", None), None, n, fresh, size=1000)

    assert len(by_count) == 3
    assert by_count.lookup(("s", "r", "k9", None), None) is not None
    assert by_count.lookup(("s", "r", "k0", None), None) is None
    assert len(by_bytes) == 2
    assert by_bytes.current_bytes <= 2500
    assert by_count.stats.evicted == 7


class Seen(list[Exchange]):
    """A recorder keeping every exchange."""

    def record(self, exchange: Exchange) -> None:
        self.append(exchange)


async def test_a_stale_answer_covers_a_failed_read_but_never_a_refusal(clock: Clock) -> None:
    # A demo category never turns into a 404, so this service is written by hand.
    statuses = [200]
    seen = Seen()

    def handler(request: httpx.Request) -> httpx.Response:
        if statuses[-1] == 200:
            body = {"id": "c1", "name": "Kitchen", "parentId": None}
            return httpx.Response(200, json=body, headers={"cache-control": "max-age=10"})
        return httpx.Response(statuses[-1], json={"error": {"code": "x", "message": "no"}})

    policy = ResiliencePolicy(retry=RetryPolicy(attempts=1))
    config = ServiceConfig(base_url="http://catalog.test", resilience=policy)
    http = open_http(config, httpx.MockTransport(handler))
    cache = SharedCache(clock=clock, stale_if_error_s=60)
    catalog = CatalogClient("catalog", http, config, cache).scoped(CallScope(recorder=seen))

    first = await catalog.get_category("c1")
    clock.now += 30
    statuses.append(503)
    stale = await catalog.get_category("c1")
    assert stale is first
    assert (seen[-1].source, seen[-1].age, seen[-1].error, seen[-1].ids) == (
        "stale",
        30,
        "DOWNSTREAM_UNAVAILABLE",
        ("c1",),
    )

    statuses.append(404)  # an answer, not a failure: nothing stands in for it
    with pytest.raises(NotFound):
        await catalog.get_category("c1")

    clock.now += 41  # 71 s old: 61 s past its expiry, beyond the 60 s window
    statuses.append(503)
    with pytest.raises(Unavailable):
        await catalog.get_category("c1")
