"""Usage analytics: an event per operation, off the request path, into real sinks."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
from pathlib import Path

import orjson
import pytest
from redis.asyncio import Redis

from bff.analytics.report import schema_fields, summarise
from bff.analytics.sinks import read_events
from bff.examples import PRODUCT_PAGE
from bff.settings import DEMO_SUBJECT_KEY, Settings, SettingsError
from schema import build_schema
from tests.harness import running_bff, sample, signed_in
from tests.seed import DATA

REDIS_URL = "redis://127.0.0.1:6379/0"
IOS = {"apollographql-client-name": "ios", "apollographql-client-version": "3.2.0"}
WEB = {"x-client-name": "web", "x-client-version": "2026.11.1"}


def _events(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


async def test_operation_events_reach_the_json_lines_file(tmp_path: Path) -> None:
    usage = tmp_path / "usage.jsonl"
    env = {"BFF_USAGE_SINK": "jsonl", "BFF_USAGE_FILE": str(usage)}
    async with running_bff(env) as bff:
        await bff.query(PRODUCT_PAGE.query, {"id": "p1"}, headers=IOS)
        await bff.query("{ nothing }", headers=WEB)
        await bff.query(
            "query Who($id: ID!) { user(id: $id) { name } }",
            {"id": "u99999"},
            headers={**WEB, **signed_in("u9")},
        )

    page, invalid, missing = _events(usage)
    assert page["type"] == "operation"
    assert page["operation"] == "ProductPage"
    assert page["hash"] == hashlib.sha256(PRODUCT_PAGE.query.encode()).hexdigest()
    assert page["operationType"] == "query"
    assert page["client"] == {"name": "ios", "version": "3.2.0"}
    assert page["outcome"] == "ok"
    assert page["errors"] == []
    assert page["variants"] == {}
    assert isinstance(page["durationMs"], float)
    assert isinstance(page["time"], str)
    assert page["time"].endswith("Z")
    fields = page["fields"]
    assert isinstance(fields, list)
    for coordinate in ("Query.product", "Query.product(id:)", "Product.price", "Money.amount"):
        assert coordinate in fields
    assert "Product.reviews(first:)" in fields
    assert invalid["outcome"] == "error"
    assert invalid["errors"] == ["GRAPHQL_VALIDATION_FAILED"]
    assert invalid["client"] == {"name": "web", "version": "2026.11.1"}
    assert missing["operation"] == "Who"
    assert missing["errors"] == ["NOT_FOUND"]
    # No variable values, tokens or response data: only names, codes and counts.
    assert "u99999" not in usage.read_text()
    assert "Bearer" not in usage.read_text()


async def test_events_reach_a_real_redis_stream() -> None:
    stream = f"bff:usage:test-{os.urandom(4).hex()}"
    env = {"BFF_USAGE_SINK": "redis", "BFF_REDIS_URL": REDIS_URL, "BFF_USAGE_STREAM": stream}
    redis = Redis.from_url(REDIS_URL)
    try:
        async with running_bff(env) as bff:
            await bff.query(PRODUCT_PAGE.query, {"id": "p2"}, headers=IOS)
            await bff.query(PRODUCT_PAGE.query, {"id": "p3"}, headers=WEB)
        length = await redis.xlen(stream)
        events = list(read_events(f"{REDIS_URL}?stream={stream}"))
    finally:
        await redis.delete(stream)
        await redis.aclose()

    assert length == 2
    assert [event["client"] for event in events] == [
        {"name": "ios", "version": "3.2.0"},
        {"name": "web", "version": "2026.11.1"},
    ]
    assert {event["operation"] for event in events} == {"ProductPage"}


async def test_a_full_queue_drops_and_counts_instead_of_blocking(tmp_path: Path) -> None:
    usage = tmp_path / "usage.jsonl"
    env = {
        "BFF_USAGE_SINK": "jsonl",
        "BFF_USAGE_FILE": str(usage),
        "BFF_USAGE_QUEUE": "3",
        "BFF_USAGE_BATCH": "1000",
        "BFF_USAGE_FLUSH_MS": "600000",
    }
    async with running_bff(env) as bff:
        replies = [await bff.query("{ __typename }") for _ in range(5)]
        metrics = await bff.metrics()
        assert not usage.exists()  # nothing flushed yet: the queue holds three

    assert all(reply.data == {"__typename": "Query"} for reply in replies)
    assert sample(metrics, "bff_usage_events_total", result="dropped") == 2
    # Shutdown flushed what the queue held.
    assert len(_events(usage)) == 3


async def test_a_failing_sink_loses_events_not_requests(tmp_path: Path) -> None:
    unwritable = tmp_path / "no-such-dir" / "usage.jsonl"
    env = {"BFF_USAGE_SINK": "jsonl", "BFF_USAGE_FILE": str(unwritable), "BFF_USAGE_BATCH": "1"}
    async with running_bff(env) as bff:
        reply = await bff.query("{ __typename }")
        for _ in range(500):  # the flush runs in the background: wait for it
            metrics = await bff.metrics()
            if sample(metrics, "bff_usage_events_total", result="failed"):
                break
            await asyncio.sleep(0.01)

    assert reply.data == {"__typename": "Query"}
    assert sample(metrics, "bff_usage_events_total", result="failed") >= 1


async def test_the_report_counts_a_known_sequence(tmp_path: Path) -> None:
    usage = tmp_path / "usage.jsonl"
    experiments = tmp_path / "experiments.toml"
    experiments.write_text(
        "[experiments.recommendation-model]\nvariants = { popular = 1, similar = 1 }\n"
    )
    env = {
        "BFF_USAGE_SINK": "jsonl",
        "BFF_USAGE_FILE": str(usage),
        "BFF_EXPERIMENTS_FILE": str(experiments),
    }
    async with running_bff(env) as bff:
        for number in range(3):
            await bff.query(PRODUCT_PAGE.query, {"id": f"p{number + 1}"}, headers=IOS)
        await bff.query(PRODUCT_PAGE.query, {"id": "p1"}, headers=WEB)
        await bff.query("query Broken { nothing }", headers=WEB)
        for user in ("u1", "u2", "u3", "u4"):
            for _ in range(2):
                await bff.query(
                    "query Picks { recommendations(first: 2) { id } }",
                    headers={**IOS, **signed_in(user)},
                )

    report = summarise(read_events(str(usage)), schema_fields(build_schema()._schema))

    assert report.operations["ProductPage"].count == 4
    assert report.operations["Picks"].count == 8
    assert report.operations["(anonymous)"].count == 1
    assert report.operations["(anonymous)"].error_rate == 1.0
    assert report.client_versions["ios 3.2.0"].count == 11
    assert report.client_versions["ios 3.2.0"].failed == 0
    assert report.client_versions["web 2026.11.1"].count == 2
    assert report.client_versions["web 2026.11.1"].error_rate == 0.5
    assert report.field_clients["Product.price"] == {"ios 3.2.0": 3, "web 2026.11.1": 1}
    assert report.field_clients["Query.recommendations"] == {"ios 3.2.0": 8}
    assert "Query.order" in report.unused_fields
    assert "Query.product" not in report.unused_fields
    variants = report.exposures["recommendation-model"]
    # Four users, each exposed once (their second request is within the window).
    assert sum(count for count, _ in variants.values()) == 4
    assert sum(callers for _, callers in variants.values()) == 4


# Exposure events name callers by a keyed pseudonym.

KEY_A = "a" * 32
KEY_B = "b" * 32
EXPERIMENT = "recommendation-model"
USERS = ("u1", "u2", "u3", "u4")


def _experiment(tmp_path: Path) -> Path:
    experiments = tmp_path / "experiments.toml"
    variants = "variants = { popular = 1, similar = 1 }"
    experiments.write_text(f"[experiments.{EXPERIMENT}]\n{variants}\n")
    return experiments


async def _expose(experiments: Path, usage: Path, key: str) -> None:
    """One BFF process where each of USERS is served a variant, its exposures into `usage`."""
    env = {
        "BFF_USAGE_SINK": "jsonl",
        "BFF_USAGE_FILE": str(usage),
        "BFF_EXPERIMENTS_FILE": str(experiments),
        "BFF_USAGE_SUBJECT_KEY": key,
    }
    async with running_bff(env) as bff:
        for user in USERS:
            await bff.query("{ recommendations(first: 1) { id } }", headers=signed_in(user))


def _subjects(usage: Path) -> list[str]:
    return [str(event["subject"]) for event in _events(usage) if event["type"] == "exposure"]


async def test_a_pseudonym_is_keyed_and_cannot_be_recomputed_without_the_key(
    tmp_path: Path,
) -> None:
    experiments = _experiment(tmp_path)
    await _expose(experiments, tmp_path / "a.jsonl", KEY_A)
    await _expose(experiments, tmp_path / "b.jsonl", KEY_B)
    under_a, under_b = _subjects(tmp_path / "a.jsonl"), _subjects(tmp_path / "b.jsonl")

    def keyed(key: str, user: str) -> str:
        message = f"{EXPERIMENT}\0{user}".encode()
        return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()[:24]

    assert under_a == [keyed(KEY_A, user) for user in USERS]
    assert set(under_a).isdisjoint(under_b)
    # Whoever reads the events but lacks the key hashes every user id in vain.
    guesses = {
        guess
        for user in DATA.users
        for guess in (
            hashlib.sha256(f"{EXPERIMENT}\0{user}".encode()).hexdigest()[:24],
            keyed("", user),
            keyed(DEMO_SUBJECT_KEY, user),
        )
    }
    assert guesses.isdisjoint(under_a)


async def test_replicas_sharing_the_key_count_each_caller_once(tmp_path: Path) -> None:
    experiments, usage = _experiment(tmp_path), tmp_path / "usage.jsonl"
    for _ in range(2):  # two processes: each writes its own first exposure of each caller
        await _expose(experiments, usage, KEY_A)

    report = summarise(read_events(str(usage)), schema_fields(build_schema()._schema))

    variants = report.exposures[EXPERIMENT]
    assert sum(count for count, _ in variants.values()) == 8
    assert sum(callers for _, callers in variants.values()) == 4


@pytest.mark.parametrize(
    ("env", "refused"),
    [
        ({}, "needs BFF_USAGE_SUBJECT_KEY"),
        ({"BFF_USAGE_SUBJECT_KEY": DEMO_SUBJECT_KEY}, "the demo's published key"),
        ({"BFF_USAGE_SUBJECT_KEY": "short"}, "at least 32 characters"),
        ({"BFF_USAGE_SUBJECT_KEY": KEY_A}, None),
        ({"BFF_USAGE_SINK": "none"}, None),
    ],
)
def test_production_writes_exposures_only_with_a_key_of_its_own(
    tmp_path: Path, env: dict[str, str], refused: str | None
) -> None:
    environ = {"BFF_PROFILE": "production", "BFF_EXPERIMENTS_FILE": str(tmp_path / "x.toml")}
    if refused is None:
        Settings.from_environ({**environ, **env})
    else:
        with pytest.raises(SettingsError, match=refused):
            Settings.from_environ({**environ, **env})
