"""`bff usage` against BFFs serving over real sockets, and usage from two real workers."""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest
from redis import Redis

from bff.cli.main import main
from bff.contract.deprecation_usage import recorded
from bff.product.analytics.records import read_usage
from bff.product.analytics.report import summarise
from bff.product.analytics.sinks import read_events
from demo.launch import DemoProcess
from tests.e2e.conftest import serving_bff
from tests.harness import Json, signed_in

REDIS_URL = "redis://127.0.0.1:6379/0"

pytestmark = pytest.mark.e2e

OLD_APP = '{ product(id: "p11") { priceCents } recommendations(limit: 2) { id } }'


def _use_deprecated_fields(bff_url: str) -> None:
    """What an old app sends: twice from version 3.1, once from 3.2."""
    for version in ("3.1", "3.1", "3.2"):
        answer = httpx.post(
            f"{bff_url}/graphql",
            json={"query": OLD_APP},
            headers={"x-client-name": "usage-e2e", "x-client-version": version},
        )
        assert answer.status_code == 200
        assert answer.json()["data"]["product"]["priceCents"] > 0


def test_usage_lists_who_uses_what_and_what_nobody_uses(
    own_bff_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # A BFF of its own: its metrics count this test's requests and nobody else's.
    bff_url = own_bff_url
    before = main(["usage", "deprecated", "--metrics-url", f"{bff_url}/metrics"])
    unused = capsys.readouterr().out
    _use_deprecated_fields(bff_url)

    assert main(["usage", "deprecated", "--metrics-url", f"{bff_url}/metrics"]) == 0
    lines = capsys.readouterr().out.splitlines()

    assert before == 0
    assert "Product.priceCents: no use seen" in unused.splitlines()
    for coordinate in ("Product.priceCents", "Query.recommendations(limit:)"):
        block = lines[lines.index(next(line for line in lines if line.startswith(coordinate))) :]
        assert block[0].endswith(" uses")
        assert [line.split() for line in block[1:3]] == [
            ["usage-e2e", "3.1", "2"],
            ["usage-e2e", "3.2", "1"],
        ]
    assert not any("no use seen" in line for line in lines)


def test_usage_refuses_a_url_that_is_not_a_bffs_metrics(
    stack: DemoProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"{stack.url('catalog')}/healthz"

    assert main(["usage", "deprecated", "--metrics-url", url]) == 2
    assert capsys.readouterr().err.startswith(f"bff: {url} is not Prometheus text")


def test_usage_deprecated_reads_the_same_from_a_sink_as_from_metrics(
    stack: DemoProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    usage = tmp_path / "usage.jsonl"
    with serving_bff(
        stack,
        tmp_path / "bff.log",
        BFF_WORKERS="1",  # one /metrics then counts every request
        BFF_USAGE_SINK="jsonl",
        BFF_USAGE_FILE=str(usage),
        BFF_USAGE_SAMPLE="0",
    ) as url:
        _use_deprecated_fields(url)
        assert main(["usage", "deprecated", "--metrics-url", f"{url}/metrics"]) == 0
        from_metrics = capsys.readouterr().out
    # Stopped: the report is in the file.

    assert main(["usage", "deprecated", "--sink", str(usage), "--days", "1"]) == 0
    from_sink = capsys.readouterr().out

    assert "Product.priceCents: 3 uses" in from_metrics.splitlines()
    assert from_sink == from_metrics


# Two real worker processes (`bff serve`, BFF_WORKERS=2) sharing one usage file.

PAGE = 'query Page { product(id: "p3") { name priceCents } }'
PICKS = "query Picks { recommendations(first: 2) { id } }"


def _send(url: str, query: str, requests: list[dict[str, str]]) -> None:
    """Each request on a connection of its own, from several threads, so both workers serve."""

    def post(headers: dict[str, str]) -> None:
        answer = httpx.post(f"{url}/graphql", json={"query": query}, headers=headers)
        assert answer.status_code == 200
        assert "errors" not in answer.json(), answer.text

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(post, requests))


def _two_workers(
    stack: DemoProcess, tmp_path: Path, usage: Path, **settings: str
) -> AbstractContextManager[str]:
    """`bff serve` with two worker processes writing usage to `usage`."""
    return serving_bff(
        stack,
        tmp_path / "bff.log",
        BFF_WORKERS="2",
        BFF_USAGE_SINK="jsonl",
        BFF_USAGE_FILE=str(usage),
        **settings,
    )


def test_two_workers_rotate_one_usage_file_without_losing_a_record(
    stack: DemoProcess, tmp_path: Path
) -> None:
    usage = tmp_path / "usage" / "usage.jsonl"
    usage.parent.mkdir()
    max_bytes = 1024
    versions = [f"{thread}.{number}" for thread in range(8) for number in range(40)]
    with _two_workers(
        stack,
        tmp_path,
        usage,
        BFF_USAGE_FILE_MAX_BYTES=str(max_bytes),
        BFF_USAGE_FILE_KEEP="1000",
        BFF_USAGE_SAMPLE="1",
        BFF_USAGE_BATCH="1",  # a write per event: as many writes and rotations as can be
        BFF_USAGE_INTERVAL_MS="100",
    ) as url:
        _send(url, PAGE, [{"x-client-name": "e2e", "x-client-version": v} for v in versions])
    # Stopped: each worker flushed what it held.

    files = list(usage.parent.iterdir())
    lines = [line for file in files for line in file.read_bytes().splitlines()]
    records: list[dict[str, Json]] = list(read_events(str(usage)))
    assert len(files) > 5
    assert len(records) == len(lines)  # every line whole: none torn or interleaved
    for file in files:  # each within its size, but for a record too big for any
        assert file.stat().st_size <= max_bytes or len(file.read_bytes().splitlines()) == 1
    sampled = [r["client"]["version"] for r in records if r["type"] == "operation"]
    assert sorted(sampled) == sorted(versions)  # each request's raw event, once
    reports = [record for record in records if record["type"] == "report"]
    assert len({report["worker"] for report in reports}) == 2
    counted = Counter(
        entry["client"]["version"] for report in reports for entry in report["operations"]
    )
    assert counted == Counter(versions)  # each request in exactly one report
    data = read_usage(records)
    assert recorded(data, {})["Product.priceCents"] == {
        ("e2e", version): 1.0 for version in versions
    }


EXPERIMENT = "recommendation-model"


@pytest.mark.parametrize("redis", [False, True], ids=["without redis", "with redis"])
def test_two_workers_count_each_callers_exposure_once(
    stack: DemoProcess, tmp_path: Path, redis: bool
) -> None:
    experiments = tmp_path / "experiments.toml"
    experiments.write_text(f"[experiments.{EXPERIMENT}]\nvariants = {{ a = 1, b = 1 }}\n")
    usage = tmp_path / "usage.jsonl"
    stream = f"bff:usage:e2e-{os.urandom(4).hex()}"
    shared = {"BFF_REDIS_URL": REDIS_URL, "BFF_USAGE_STREAM": stream} if redis else {}
    users = [f"u{number}" for number in range(1, 7)]
    tokens = {user: signed_in(user) for user in users}
    try:
        with _two_workers(
            stack,
            tmp_path,
            usage,
            BFF_USAGE_SAMPLE="0",
            BFF_EXPERIMENTS_FILE=str(experiments),
            **shared,
        ) as url:
            # Each user ten times, on new connections: both workers serve each of them.
            _send(url, PICKS, [tokens[user] for _ in range(10) for user in users])
    finally:
        if redis:
            client = Redis.from_url(REDIS_URL)
            for key in client.scan_iter(f"{stream}:*"):
                client.delete(key)
            client.close()

    records: list[dict[str, Json]] = list(read_events(str(usage)))
    reports = [record for record in records if record["type"] == "report"]
    assert len({report["worker"] for report in reports}) == 2
    written = [record["subject"] for record in records if record["type"] == "exposure"]
    report = summarise(read_usage(records), [])
    variants = report.exposures[EXPERIMENT]
    assert sum(count for count, _ in variants.values()) == len(users)
    assert sum(callers for _, callers in variants.values()) == len(users)
    assert sum(report.served[EXPERIMENT].values()) == 10 * len(users)
    if redis:
        assert sorted(written) == sorted(set(written))  # written once, by one worker
    assert len(set(written)) == len(users)
