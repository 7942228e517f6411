"""Usage analytics: operations aggregated per interval, a sample kept raw, into real sinks."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from redis.asyncio import Redis

from bff.config.settings import DEMO_SUBJECT_KEY, Settings, SettingsError
from bff.contract.deprecation_usage import Usage, add_usage, recorded
from bff.contract.examples import PRODUCT_PAGE
from bff.contract.traffic_check import usage_from_records
from bff.execution.deprecation import deprecated_coordinates
from bff.product.analytics.aggregates import LATENCY_LABELS, Aggregates
from bff.product.analytics.events import Event, ExposureEvent, JsonObject, OperationEvent
from bff.product.analytics.exposures import SharedExposures
from bff.product.analytics.pipeline import UsagePipeline
from bff.product.analytics.records import read_usage
from bff.product.analytics.report import render, schema_fields, summarise
from bff.product.analytics.sinks import JsonLinesSink, read_events
from schema import build_schema
from tests.harness import Json, running_bff, sample, signed_in
from tests.seed import DATA

REDIS_URL = "redis://127.0.0.1:6379/0"
IOS = {"apollographql-client-name": "ios", "apollographql-client-version": "3.2.0"}
WEB = {"x-client-name": "web", "x-client-version": "2026.11.1"}
SCHEMA = build_schema()._schema
FIELDS = schema_fields(SCHEMA)
KEY_A = "a" * 32
KEY_B = "b" * 32
EXPERIMENT = "recommendation-model"
USERS = ("u1", "u2", "u3", "u4")
PICKS = "query Picks { recommendations(first: 2) { id } }"


def _records(path: Path) -> list[dict[str, Json]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def _of_type(records: list[dict[str, Json]], kind: str) -> list[dict[str, Json]]:
    return [record for record in records if record["type"] == kind]


def _jsonl(path: Path, **more: str) -> dict[str, str]:
    return {"BFF_USAGE_SINK": "jsonl", "BFF_USAGE_FILE": str(path), **more}


async def test_sampled_operations_reach_the_json_lines_file_as_raw_events(tmp_path: Path) -> None:
    usage = tmp_path / "usage.jsonl"
    async with running_bff(_jsonl(usage, BFF_USAGE_SAMPLE="1")) as bff:
        await bff.query(PRODUCT_PAGE.query, {"id": "p1"}, headers=IOS)
        await bff.query("{ nothing }", headers=WEB)
        await bff.query(
            "query Who($id: ID!) { user(id: $id) { name } }",
            {"id": "u99999"},
            headers={**WEB, **signed_in("u9")},
        )

    page, invalid, missing = _of_type(_records(usage), "operation")
    assert page["operation"] == "ProductPage"
    assert page["hash"] == hashlib.sha256(PRODUCT_PAGE.query.encode()).hexdigest()
    assert page["operationType"] == "query"
    assert page["client"] == {"name": "ios", "version": "3.2.0"}
    assert page["outcome"] == "ok"
    assert page["errors"] == []
    assert page["variants"] == {}
    assert page["sampled"] is True  # counted in the report: readers must not count it again
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


PRICE_IN_CENTS = 'query Old { product(id: "{id}") { priceCents } }'


async def test_an_interval_becomes_one_report_per_signature_and_client(tmp_path: Path) -> None:
    usage = tmp_path / "usage.jsonl"
    async with running_bff(_jsonl(usage, BFF_USAGE_SAMPLE="0")) as bff:
        for number in (1, 2, 3):
            await bff.query(PRODUCT_PAGE.query, {"id": f"p{number}"}, headers=IOS)
        await bff.query(PRODUCT_PAGE.query, {"id": "p4"}, headers=WEB)
        # Two documents that differ only in a literal: one signature.
        for product in ("p11", "p12"):
            await bff.query(PRICE_IN_CENTS.replace("{id}", product), headers=IOS)
        partial = await bff.query(
            'query Both { product(id: "p1") { name } user(id: "u99999") { name } }', headers=IOS
        )
        await bff.query("{ nothing }", headers=IOS)

    assert partial.codes() == ["NOT_FOUND"]
    records = _records(usage)
    assert _of_type(records, "operation") == []  # nothing sampled
    (report,) = records
    assert report["type"] == "report"
    assert report["start"] <= report["time"]
    signatures = report["signatures"]
    assert isinstance(signatures, dict)
    by_name = {signature["operation"]: ident for ident, signature in signatures.items()}
    assert set(by_name) == {"ProductPage", "Old", "Both", None}
    old = signatures[by_name["Old"]]
    assert old["fields"] == ["Product.priceCents", "Query.product", "Query.product(id:)"]
    assert old["deprecated"] == ["Product.priceCents"]
    assert old["operationType"] == "query"
    assert signatures[by_name["ProductPage"]]["deprecated"] == []
    entries = {
        (entry["signature"], entry["client"]["name"]): entry for entry in report["operations"]
    }
    assert len(entries) == len(report["operations"]) == 5
    pages = entries[(by_name["ProductPage"], "ios")]
    assert pages["count"] == 3
    assert pages["outcomes"] == {"ok": 3}
    assert pages["errors"] == {}
    assert sum(pages["latencyMs"].values()) == 3
    assert set(pages["latencyMs"]) <= set(LATENCY_LABELS)
    assert entries[(by_name["ProductPage"], "web")]["count"] == 1
    assert entries[(by_name["Old"], "ios")]["count"] == 2
    assert entries[(by_name["Both"], "ios")]["outcomes"] == {"partial": 1}
    assert entries[(by_name["Both"], "ios")]["errors"] == {"NOT_FOUND": 1}
    assert entries[(by_name[None], "ios")]["errors"] == {"GRAPHQL_VALIDATION_FAILED": 1}


async def test_a_report_counts_the_variants_each_operation_was_served(tmp_path: Path) -> None:
    usage = tmp_path / "usage.jsonl"
    env = _jsonl(usage, BFF_USAGE_SAMPLE="0", BFF_EXPERIMENTS_FILE=str(_experiment(tmp_path)))
    async with running_bff(env) as bff:
        for user in USERS:
            for _ in range(3):
                await bff.query(PICKS, headers={**IOS, **signed_in(user)})

    (report,) = _of_type(_records(usage), "report")
    (entry,) = report["operations"]
    served = entry["variants"][EXPERIMENT]
    assert sum(served.values()) == 12
    assert set(served) <= {"popular", "similar"}
    exposures = _of_type(_records(usage), "exposure")
    assert len(exposures) == 4  # each caller's first only: raw, never sampled away


async def test_reports_come_every_interval_not_only_at_shutdown(tmp_path: Path) -> None:
    usage = tmp_path / "usage.jsonl"
    async with running_bff(_jsonl(usage, BFF_USAGE_INTERVAL_MS="1")) as bff:
        await bff.query("{ __typename }")
        for _ in range(500):  # the report is written in the background: wait for it
            if usage.exists() and _of_type(list(read_events(str(usage))), "report"):
                break
            await asyncio.sleep(0.01)
        during = _of_type(list(read_events(str(usage))), "report")

    assert [report["operations"][0]["count"] for report in during] == [1]


async def test_only_the_sampled_fraction_of_operations_is_kept_raw(tmp_path: Path) -> None:
    usage = tmp_path / "usage.jsonl"
    draws = random.Random(13)
    pipeline = UsagePipeline(JsonLinesSink(usage), sample=0.1, draw=draws.random)
    kept = 0
    for _ in range(1000):
        pipeline.tally(None, "Q", ("ios", "1"), "ok", [], 0.001, {})
        if pipeline.sampled():
            kept += 1
            pipeline.record(_operation("Q"))
    await pipeline.flush()

    records = _records(usage)
    assert 70 <= kept <= 130
    assert len(_of_type(records, "operation")) == kept
    (report,) = _of_type(records, "report")
    assert report["operations"][0]["count"] == 1000


async def test_too_many_tallies_end_the_interval_early(tmp_path: Path) -> None:
    usage = tmp_path / "usage.jsonl"
    pipeline = UsagePipeline(JsonLinesSink(usage), report_interval_s=600, max_tallies=3)
    running = asyncio.create_task(pipeline.run())
    try:
        for version in ("1", "2", "3"):  # three clients: three tallies
            pipeline.tally(None, "Q", ("ios", version), "ok", [], 0.001, {})
        for _ in range(500):  # written in the background: wait for it
            if usage.exists() and list(read_events(str(usage))):
                break
            await asyncio.sleep(0.01)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running

    (report,) = list(read_events(str(usage)))
    assert report["type"] == "report"


class _HeldSink:
    """A sink whose writes wait until released: shutdown finds one under way."""

    def __init__(self) -> None:
        self.records: list[dict[str, Json]] = []
        self.writing = asyncio.Event()
        self.release = asyncio.Event()

    async def write(self, records: Sequence[JsonObject]) -> None:
        self.writing.set()
        await self.release.wait()
        self.records += records


async def test_closing_lets_a_write_under_way_finish_and_writes_the_rest() -> None:
    sink = _HeldSink()
    pipeline = UsagePipeline(sink, report_interval_s=0.001)
    pipeline.tally(None, "Q", ("ios", "1"), "ok", [], 0.001, {})
    running = asyncio.create_task(pipeline.run())
    await sink.writing.wait()  # the interval's report is being written
    pipeline.tally(None, "Q", ("ios", "1"), "ok", [], 0.001, {})  # the next interval's

    pipeline.close()
    sink.release.set()
    await asyncio.wait_for(running, 10)

    assert [record["operations"][0]["count"] for record in sink.records] == [1, 1]


@pytest.mark.parametrize("seconds", [0.0010004, 0.0009996, 0.0125, 1e-7, 99.0])
def test_a_latency_falls_in_one_bucket_read_from_a_report_or_a_raw_event(seconds: float) -> None:
    aggregates = Aggregates(0.0)
    aggregates.add(None, "Q", ("ios", "1"), "ok", [], seconds, {})
    report = aggregates.report(1.0)
    assert report is not None
    event = _unsampled(replace(_operation("Q"), duration_ms=seconds * 1000).to_json())

    (from_report,) = read_usage([report]).uses
    (from_event,) = read_usage([event]).uses

    assert from_report.latency == from_event.latency
    assert sum(from_report.latency.values()) == 1


async def test_exposures_are_written_anyway_when_redis_fails() -> None:
    failures: list[str] = []
    redis = Redis.from_url("redis://127.0.0.1:1/0")  # nothing listens there
    shared = SharedExposures(redis, "bff:test:", on_error=lambda: failures.append("claim"))
    batch: list[Event] = [_exposure("s1"), _operation("Q"), _exposure("s2")]
    try:
        kept = await shared.claim(batch)
    finally:
        await redis.aclose()

    assert kept == batch
    assert failures == ["claim"]


def _operation(name: str) -> OperationEvent:
    return OperationEvent(
        time=0.0,
        operation_name=name,
        operation_hash=None,
        operation_type=None,
        client_name="ios",
        client_version="1",
        fields=(),
        duration_ms=1.0,
        outcome="ok",
        error_codes=(),
        variants={},
    )


def _exposure(unit: str, *, moment: float = 0.0, window_s: float = 86_400) -> ExposureEvent:
    return ExposureEvent(
        time=moment,
        experiment=EXPERIMENT,
        variant="popular",
        subject=unit,
        client_name="ios",
        client_version="1",
        window_s=window_s,
    )


async def test_events_reach_a_real_redis_stream() -> None:
    stream = f"bff:usage:test-{os.urandom(4).hex()}"
    env = {
        "BFF_USAGE_SINK": "redis",
        "BFF_REDIS_URL": REDIS_URL,
        "BFF_USAGE_STREAM": stream,
        "BFF_USAGE_SAMPLE": "1",
    }
    redis = Redis.from_url(REDIS_URL)
    try:
        async with running_bff(env) as bff:
            await bff.query(PRODUCT_PAGE.query, {"id": "p2"}, headers=IOS)
            await bff.query(PRODUCT_PAGE.query, {"id": "p3"}, headers=WEB)
        length = await redis.xlen(stream)
        records = list(read_events(f"{REDIS_URL}?stream={stream}"))
    finally:
        await redis.delete(stream)
        await redis.aclose()

    assert length == 3  # two sampled events, then the report
    assert [record["client"] for record in _of_type(records, "operation")] == [
        {"name": "ios", "version": "3.2.0"},
        {"name": "web", "version": "2026.11.1"},
    ]
    (report,) = _of_type(records, "report")
    assert sorted(entry["client"]["name"] for entry in report["operations"]) == ["ios", "web"]


async def test_a_full_queue_drops_and_counts_instead_of_blocking(tmp_path: Path) -> None:
    usage = tmp_path / "usage.jsonl"
    env = _jsonl(
        usage,
        BFF_USAGE_SAMPLE="1",
        BFF_USAGE_QUEUE="3",
        BFF_USAGE_BATCH="1000",
        BFF_USAGE_FLUSH_MS="600000",
        BFF_USAGE_INTERVAL_MS="600000",
    )
    async with running_bff(env) as bff:
        replies = [await bff.query("{ __typename }") for _ in range(5)]
        metrics = await bff.metrics()
        assert not usage.exists()  # nothing flushed yet: the queue holds three

    assert all(reply.data == {"__typename": "Query"} for reply in replies)
    assert sample(metrics, "bff_usage_events_total", result="dropped") == 2
    # Shutdown flushed what the queue held, and the report, which missed nothing.
    records = _records(usage)
    assert len(_of_type(records, "operation")) == 3
    assert [report["operations"][0]["count"] for report in _of_type(records, "report")] == [5]


async def test_a_failing_sink_loses_records_not_requests(tmp_path: Path) -> None:
    unwritable = tmp_path / "no-such-dir" / "usage.jsonl"
    env = _jsonl(unwritable, BFF_USAGE_SAMPLE="1", BFF_USAGE_BATCH="1")
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
    env = _jsonl(usage, BFF_EXPERIMENTS_FILE=str(_experiment(tmp_path)))
    async with running_bff(env) as bff:
        for number in range(3):
            await bff.query(PRODUCT_PAGE.query, {"id": f"p{number + 1}"}, headers=IOS)
        await bff.query(PRODUCT_PAGE.query, {"id": "p1"}, headers=WEB)
        await bff.query("query Broken { nothing }", headers=WEB)
        for user in USERS:
            for _ in range(2):
                await bff.query(PICKS, headers={**IOS, **signed_in(user)})

    report = summarise(read_usage(read_events(str(usage))), FIELDS)

    assert report.operation_count == 13
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
    variants = report.exposures[EXPERIMENT]
    # Four users, each exposed once (their second request is within the window).
    assert sum(count for count, _ in variants.values()) == 4
    assert sum(callers for _, callers in variants.values()) == 4
    assert sum(report.served[EXPERIMENT].values()) == 8


# The same traffic, read from reports and from raw events, gives the same answers.

MIXED_TRAFFIC: list[tuple[str, Mapping[str, object] | None, Mapping[str, str]]] = [
    *[(PRODUCT_PAGE.query, {"id": f"p{n}"}, IOS) for n in range(1, 6)],
    *[(PRODUCT_PAGE.query, {"id": f"p{n}"}, WEB) for n in range(6, 8)],
    *[(PRICE_IN_CENTS.replace("{id}", f"p{n}"), None, IOS) for n in (11, 12, 13)],
    ("{ recommendations(limit: 2) { id } }", None, WEB),
    ('query Both { product(id: "p1") { name } user(id: "u99999") { name } }', None, IOS),
    ("query Broken { nothing }", None, WEB),
    *[(PICKS, None, {**IOS, **signed_in(user)}) for user in (*USERS, *USERS)],
]


async def test_reports_and_raw_events_give_every_reader_the_same_answers(tmp_path: Path) -> None:
    usage = tmp_path / "usage.jsonl"
    env = _jsonl(usage, BFF_USAGE_SAMPLE="1", BFF_EXPERIMENTS_FILE=str(_experiment(tmp_path)))
    async with running_bff(env) as bff:
        for query, variables, headers in MIXED_TRAFFIC:
            await bff.query(query, variables, headers=headers)
        metrics_text = (await bff.http.get("/metrics")).text

    records = _records(usage)
    # Every operation was sampled: the raw events alone are what earlier versions wrote.
    raw = [_unsampled(record) for record in records if record["type"] != "report"]
    reports = [record for record in records if record["type"] != "operation"]
    assert len(_of_type(raw, "operation")) == len(MIXED_TRAFFIC)
    assert len(_of_type(reports, "report")) == 1
    deprecated = deprecated_coordinates(SCHEMA)
    live: Usage = {}
    add_usage(live, metrics_text)

    answers = []
    for kind in (raw, reports, records):  # a file may hold both kinds
        data = read_usage(kind)
        report = summarise(data, FIELDS)
        answers.append(
            (report, render(report), usage_from_records(kind), recorded(data, deprecated))
        )

    assert answers[0] == answers[1] == answers[2]
    report, text, used, deprecated_use = answers[0]
    assert report.operation_count == len(MIXED_TRAFFIC)
    assert report.operations["Old"].count == 3
    assert report.client_versions["web 2026.11.1"].failed == 1
    assert report.operations["Both"].failed == 1
    assert sum(report.operations["ProductPage"].latency.values()) == 7
    assert used["Product.priceCents"] == {"ios 3.2.0"}
    assert deprecated_use == live  # what /metrics counted
    assert deprecated_use["Product.priceCents"] == {("ios", "3.2.0"): 3}
    assert sum(count for count, _ in report.exposures[EXPERIMENT].values()) == 4
    assert "p99 ms" in text


def _unsampled(record: JsonObject) -> JsonObject:
    return {key: value for key, value in record.items() if key != "sampled"}


# Exposure events name callers by a keyed pseudonym, and count once per window.


def _experiment(tmp_path: Path) -> Path:
    experiments = tmp_path / "experiments.toml"
    variants = "variants = { popular = 1, similar = 1 }"
    experiments.write_text(f"[experiments.{EXPERIMENT}]\n{variants}\n")
    return experiments


def _exposing(experiments: Path, usage: Path, key: str, **more: str) -> dict[str, str]:
    return _jsonl(usage, BFF_EXPERIMENTS_FILE=str(experiments), BFF_USAGE_SUBJECT_KEY=key, **more)


async def _expose(env: Mapping[str, str]) -> None:
    """One BFF process where each of USERS is served a variant."""
    async with running_bff(env) as bff:
        for user in USERS:
            await bff.query("{ recommendations(first: 1) { id } }", headers=signed_in(user))


def _subjects(usage: Path) -> list[str]:
    return [str(event["subject"]) for event in _of_type(_records(usage), "exposure")]


async def test_a_pseudonym_is_keyed_and_cannot_be_recomputed_without_the_key(
    tmp_path: Path,
) -> None:
    experiments = _experiment(tmp_path)
    await _expose(_exposing(experiments, tmp_path / "a.jsonl", KEY_A))
    await _expose(_exposing(experiments, tmp_path / "b.jsonl", KEY_B))
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


async def test_without_redis_readers_count_each_caller_once_per_window(tmp_path: Path) -> None:
    experiments, usage = _experiment(tmp_path), tmp_path / "usage.jsonl"
    for _ in range(2):  # two processes: each writes its own first exposure of each caller
        await _expose(_exposing(experiments, usage, KEY_A))

    report = summarise(read_usage(read_events(str(usage))), FIELDS)

    assert len(_subjects(usage)) == 8
    variants = report.exposures[EXPERIMENT]
    assert sum(count for count, _ in variants.values()) == 4
    assert sum(callers for _, callers in variants.values()) == 4


async def test_with_redis_a_caller_is_written_once_across_processes(tmp_path: Path) -> None:
    experiments, usage = _experiment(tmp_path), tmp_path / "usage.jsonl"
    stream = f"bff:usage:test-{os.urandom(4).hex()}"
    env = _exposing(experiments, usage, KEY_A, BFF_REDIS_URL=REDIS_URL, BFF_USAGE_STREAM=stream)
    redis = Redis.from_url(REDIS_URL)
    try:
        # Two processes at once, each with its own memory of who it has seen.
        await asyncio.gather(_expose(env), _expose(env))
        claims = [key async for key in redis.scan_iter(f"{stream}:exposed:*")]
        expiry = await redis.ttl(claims[0])
    finally:
        async for key in redis.scan_iter(f"{stream}:*"):
            await redis.delete(key)
        await redis.aclose()

    assert sorted(_subjects(usage)) == sorted(set(_subjects(usage)))
    assert len(_subjects(usage)) == 4
    assert len(claims) == 4
    assert 86_000 < expiry <= 86_400  # the exposure window
    assert not any(user.encode() in key for key in claims for user in USERS)


def test_exposures_further_apart_than_their_window_count_again() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC).timestamp()
    hour = 3600.0
    events = [
        _exposure("s1", moment=start, window_s=hour),
        _exposure("s1", moment=start + 10, window_s=hour),  # another worker's copy
        _exposure("s1", moment=start + 2 * hour, window_s=hour),  # a new window
        _exposure("s2", moment=start + 30, window_s=hour),
    ]
    records = [event.to_json() for event in reversed(events)]  # order does not matter

    report = summarise(read_usage(records), FIELDS)

    assert report.exposures[EXPERIMENT]["popular"] == (3, 2)
    old = [{key: value for key, value in record.items() if key != "windowS"} for record in records]
    # Written before events said their window: the default day, so s1 counts once.
    assert summarise(read_usage(old), FIELDS).exposures[EXPERIMENT]["popular"] == (2, 2)


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


@pytest.mark.parametrize(
    ("environ", "sample"),
    [({}, 1.0), ({"BFF_PROFILE": "production"}, 0.01), ({"BFF_USAGE_SAMPLE": "0.25"}, 0.25)],
)
def test_the_sample_is_everything_in_demo_and_one_percent_in_production(
    environ: dict[str, str], sample: float
) -> None:
    assert Settings.from_environ(environ).product.usage_sample == sample


@pytest.mark.parametrize("raw", ["1.5", "-0.1", "half", "nan"])
def test_a_sample_outside_0_to_1_is_refused(raw: str) -> None:
    with pytest.raises(SettingsError, match="BFF_USAGE_SAMPLE: must be"):
        Settings.from_environ({"BFF_USAGE_SAMPLE": raw})
