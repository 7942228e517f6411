"""Automatic persisted queries, as Apollo Client's persisted-queries link speaks them."""

from __future__ import annotations

import hashlib
import os

import httpx
import orjson
from redis.asyncio import Redis

from bff.contract.examples import PRODUCT_PAGE
from bff.contract.persisted import REDIS_PREFIX
from tests.harness import Harness, running_bff, sample, signed_in

REDIS_URL = "redis://127.0.0.1:6379/0"
MODERN = {"accept": "application/graphql-response+json"}


def _hash(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def _persisted(sha256: str) -> dict[str, object]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256}}


def _unique_query() -> str:
    """A query no earlier run registered in the shared Redis."""
    return f'query Unique{os.urandom(6).hex()} {{ product(id: "p1") {{ id name }} }}'


async def _post(bff: Harness, body: dict[str, object]) -> httpx.Response:
    return await bff.http.post("/graphql", json=body, headers=MODERN)


async def _get(bff: Harness, sha256: str, **params: str) -> httpx.Response:
    extensions = orjson.dumps(_persisted(sha256)).decode()
    return await bff.http.get(
        "/graphql", params={"extensions": extensions, **params}, headers=MODERN
    )


def _code(response: httpx.Response) -> str:
    code = response.json()["errors"][0]["extensions"]["code"]
    assert isinstance(code, str)
    return code


async def test_hash_miss_then_register_then_hash_only(bff: Harness) -> None:
    query = PRODUCT_PAGE.query
    sha256 = _hash(query)
    variables = {"id": "p2"}

    miss = await _post(bff, {"variables": variables, "extensions": _persisted(sha256)})
    registered = await _post(
        bff, {"query": query, "variables": variables, "extensions": _persisted(sha256)}
    )
    hit = await _post(bff, {"variables": variables, "extensions": _persisted(sha256)})

    # The miss is the protocol's handshake: 200 whatever the media type, never cached.
    assert miss.status_code == 200
    assert miss.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    assert _code(miss) == "PERSISTED_QUERY_NOT_FOUND"
    assert miss.headers["cache-control"] == "no-store"
    assert registered.status_code == 200
    assert hit.status_code == 200
    assert hit.json() == registered.json()
    assert hit.json()["data"]["product"]["id"] == "p2"
    metrics = await bff.metrics()
    assert sample(metrics, "bff_persisted_queries_total", outcome="miss") == 1
    assert sample(metrics, "bff_persisted_queries_total", outcome="registered") == 1
    assert sample(metrics, "bff_persisted_queries_total", outcome="hit") == 1


async def test_a_mismatched_hash_is_refused_and_not_registered(bff: Harness) -> None:
    query = '{ product(id: "p1") { id } }'
    wrong = _hash(query + " ")

    mismatch = await _post(bff, {"query": query, "extensions": _persisted(wrong)})
    later = await _post(bff, {"extensions": _persisted(wrong)})

    assert mismatch.status_code == 400
    assert _code(mismatch) == "PERSISTED_QUERY_HASH_MISMATCH"
    assert _code(later) == "PERSISTED_QUERY_NOT_FOUND"
    assert bff.calls() == 0


async def test_hashed_get_answers_with_a_cache_control_a_cdn_can_use(bff: Harness) -> None:
    query = "query Category($id: ID!) { category(id: $id) { id name } }"
    sha256 = _hash(query)
    variables = orjson.dumps({"id": "c1"}).decode()

    miss = await _get(bff, sha256, variables=variables, operationName="Category")
    registered = await bff.http.get(
        "/graphql",
        params={
            "query": query,
            "variables": variables,
            "extensions": orjson.dumps(_persisted(sha256)).decode(),
        },
        headers=MODERN,
    )
    hit = await _get(bff, sha256, variables=variables, operationName="Category")

    assert _code(miss) == "PERSISTED_QUERY_NOT_FOUND"
    assert miss.headers["cache-control"] == "no-store"
    assert (
        registered.json()
        == hit.json()
        == {"data": {"category": {"id": "c1", "name": "Electronics"}}}
    )
    assert hit.headers["cache-control"] == "public, max-age=60"
    assert "Accept" in hit.headers["vary"]


async def test_persisted_mutations_are_not_run_by_get(bff: Harness) -> None:
    mutation = 'mutation { addReview(input: {productId: "p1", rating: 5, body: "Great"}) { id } }'
    sha256 = _hash(mutation)
    headers = {**MODERN, **signed_in("u1")}
    registered = await bff.http.post(
        "/graphql", json={"query": mutation, "extensions": _persisted(sha256)}, headers=headers
    )
    reviews_before = bff.demo["reviews"].stats.total()
    by_get = await bff.http.get(
        "/graphql",
        params={"extensions": orjson.dumps(_persisted(sha256)).decode()},
        headers=headers,
    )

    assert registered.json()["data"]["addReview"]["id"]
    assert by_get.status_code == 405
    assert _code(by_get) == "METHOD_NOT_ALLOWED"
    assert bff.demo["reviews"].stats.total() == reviews_before


async def test_malformed_persisted_query_extensions_are_bad_requests(bff: Harness) -> None:
    version_2 = await _post(
        bff, {"extensions": {"persistedQuery": {"version": 2, "sha256Hash": "0" * 64}}}
    )
    not_hex = await _post(
        bff, {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "x"}}}
    )

    assert version_2.status_code == not_hex.status_code == 400
    assert _code(version_2) == _code(not_hex) == "BAD_REQUEST"
    assert "version 1" in version_2.json()["errors"][0]["message"]


async def test_apq_can_be_turned_off() -> None:
    async with running_bff({"BFF_APQ": "false"}) as bff:
        hashed = await _post(bff, {"extensions": _persisted(_hash("{ __typename }"))})
        plain = await _post(bff, {"query": "{ __typename }"})

    assert hashed.status_code == 200
    assert hashed.json()["errors"][0]["message"] == "PersistedQueryNotSupported"
    assert _code(hashed) == "PERSISTED_QUERY_NOT_SUPPORTED"
    assert plain.json() == {"data": {"__typename": "Query"}}


async def test_replicas_share_registrations_through_redis() -> None:
    query = _unique_query()
    sha256 = _hash(query)
    shared = {"BFF_REDIS_URL": REDIS_URL}

    async with running_bff(shared) as first:
        registered = await _post(first, {"query": query, "extensions": _persisted(sha256)})
        async with running_bff(shared) as running_alongside:
            seen_alongside = await _post(running_alongside, {"extensions": _persisted(sha256)})
    # Started after the registration: its in-process store has never seen the hash.
    async with running_bff(shared) as started_later:
        seen_later = await _post(started_later, {"extensions": _persisted(sha256)})
        metrics = await started_later.metrics()

    assert registered.json()["data"]["product"]["id"] == "p1"
    assert seen_alongside.json() == registered.json()
    assert seen_later.json() == registered.json()
    assert sample(metrics, "bff_persisted_queries_total", outcome="hit") == 1


async def test_a_tampered_redis_entry_is_not_run() -> None:
    query = _unique_query()
    sha256 = _hash(query)
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.set(REDIS_PREFIX + sha256, "{ __typename }", ex=60)
        async with running_bff({"BFF_REDIS_URL": REDIS_URL}) as bff:
            answer = await _post(bff, {"extensions": _persisted(sha256)})
    finally:
        await redis.delete(REDIS_PREFIX + sha256)
        await redis.aclose()

    assert _code(answer) == "PERSISTED_QUERY_NOT_FOUND"


async def test_redis_down_costs_a_round_trip_not_a_request() -> None:
    query = _unique_query()
    sha256 = _hash(query)

    async with running_bff({"BFF_REDIS_URL": "redis://127.0.0.1:1/0"}) as bff:
        miss = await _post(bff, {"extensions": _persisted(sha256)})
        registered = await _post(bff, {"query": query, "extensions": _persisted(sha256)})
        hit = await _post(bff, {"extensions": _persisted(sha256)})
        metrics = await bff.metrics()

    assert _code(miss) == "PERSISTED_QUERY_NOT_FOUND"
    assert registered.json()["data"]["product"]["id"] == "p1"
    # Kept in process even though Redis could not take it.
    assert hit.json() == registered.json()
    assert sample(metrics, "bff_redis_errors_total", use="persisted_queries", action="get") >= 1
    assert sample(metrics, "bff_redis_errors_total", use="persisted_queries", action="put") == 1
