"""`bff serve` with two workers: one scrape answers for both, and Redis holds what they share.

Which worker takes a connection is the kernel's choice, so each test sends
requests on new connections until both workers have answered some, as their
own files in the shared metrics directory show.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from redis import Redis

from bff.cli.main import main
from bff.contract.examples import CATEGORY_LISTING, PRODUCT_PAGE, Example
from bff.contract.persisted import REDIS_PREFIX
from demo.launch import DemoProcess
from tests.e2e.conftest import serving_bff
from tests.harness import Samples, parsed_metrics, sample, signed_in

pytestmark = pytest.mark.e2e

REDIS_URL = "redis://127.0.0.1:6379/0"
MOST_REQUESTS = 200  # both workers take some long before this
STARTUP_LINE = (
    "WARNING bff.cli.serve 2 workers without BFF_REDIS_URL: each keeps its own APQ registrations, "
    "response cache, downstream cache, circuit breakers and retry budgets, WebSocket and "
    "subscription caps; metrics are shared"
)


@dataclass
class Workers:
    url: str
    directory: Path
    log: Path

    def scrape(self, client: httpx.Client | None = None) -> Samples:
        """`/metrics` on a new connection, or on `client`'s (the same worker each time)."""
        response = (client or httpx).get(f"{self.url}/metrics")
        assert response.status_code == 200
        return parsed_metrics(response.text)

    def counting(self, name: str, **labels: str) -> dict[int, float]:
        """Each worker's own total of `name` over the series with `labels`, from its files."""
        totals: dict[int, float] = {}
        for path in self.directory.glob("*.db"):
            pid = int(path.stem.rsplit("_", 1)[1])
            merged = MultiProcessCollector.merge([str(path)])  # type: ignore[no-untyped-call]
            for metric in merged:
                for item in metric.samples:
                    if item.name == name and item.value and labels.items() <= item.labels.items():
                        totals[pid] = totals.get(pid, 0.0) + item.value
        return totals

    def post(
        self, body: Mapping[str, object], headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """A request on a connection of its own."""
        return httpx.post(f"{self.url}/graphql", json=body, headers=headers, timeout=30)


@contextmanager
def two_workers(
    stack: DemoProcess, tmp_path: Path, directory: Path | None = None, **settings: str
) -> Iterator[Workers]:
    directory = directory or tmp_path / "metrics"
    log = tmp_path / f"bff-{time.monotonic_ns()}.log"
    with serving_bff(
        stack, log, BFF_WORKERS="2", PROMETHEUS_MULTIPROC_DIR=str(directory), **settings
    ) as url:
        yield Workers(url, directory, log)


def send_until(send: Callable[[], object], done: Callable[[], bool]) -> None:
    sent = 0
    while not done():
        assert sent < MOST_REQUESTS, "one worker took every connection"
        send()
        sent += 1


def wait_for(condition: Callable[[], bool], timeout_s: float = 15) -> None:
    """Poll `condition` (each worker publishes its readings every second) until it holds."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.1)


def body(example: Example) -> dict[str, object]:
    return {"query": example.query, "variables": example.variables}


def requests_of(samples: Samples, operation: str, suffix: str = "_total", **labels: str) -> float:
    series = {
        "operation_name": operation,
        "operation_type": "query",
        "client_name": "unknown",
        "client_version": "unknown",
        **labels,
    }
    name = "bff_graphql_requests" if suffix == "_total" else "bff_graphql_request_duration_seconds"
    return sample(samples, name + suffix, **series)


def test_one_scrape_counts_the_requests_every_worker_answered(
    stack: DemoProcess, tmp_path: Path
) -> None:
    sent = {PRODUCT_PAGE.name: 0, CATEGORY_LISTING.name: 0}

    def send_both() -> None:
        for example in (PRODUCT_PAGE, CATEGORY_LISTING):
            assert workers.post(body(example)).status_code == 200
            sent[example.name] += 1

    with two_workers(stack, tmp_path) as workers:
        send_until(send_both, lambda: len(workers.counting("bff_graphql_requests_total")) == 2)
        samples = workers.scrape()

    for operation, count in sent.items():
        assert requests_of(samples, operation, outcome="ok") == count, operation
        assert requests_of(samples, operation, "_count") == count, operation
    # Summed over the workers, not one series per worker.
    assert samples[("bff_graphql_requests_in_flight", ())] == 0


def test_usage_deprecated_counts_the_uses_every_worker_saw(
    stack: DemoProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old_app = {"query": '{ product(id: "p11") { priceCents } }'}
    ios = {"x-client-name": "ios", "x-client-version": "7.2"}
    sent: list[httpx.Response] = []
    with two_workers(stack, tmp_path) as workers:
        send_until(
            lambda: sent.append(workers.post(old_app, ios)),
            lambda: len(sent) >= 6 and len(workers.counting("bff_deprecated_usage_total")) == 2,
        )
        assert main(["usage", "deprecated", "--metrics-url", f"{workers.url}/metrics"]) == 0

    lines = capsys.readouterr().out.splitlines()
    block = lines[lines.index(f"Product.priceCents: {len(sent)} uses") :]
    assert block[1].split() == ["ios", "7.2", str(len(sent))]


def test_readings_of_every_worker_reach_the_scrape(stack: DemoProcess, tmp_path: Path) -> None:
    with two_workers(stack, tmp_path) as workers:
        send_until(
            lambda: workers.post(body(PRODUCT_PAGE)),
            lambda: len(workers.counting("bff_graphql_requests_total")) == 2,
        )

        # Each worker parsed the document once, and has each breaker closed. Prometheus
        # keeps its connection: one worker takes every scrape, and learns the other's.
        def published() -> bool:
            samples = workers.scrape(prometheus)
            return (
                sample(samples, "bff_cache_lookups_total", cache="document", result="miss") == 2
                and sample(samples, "bff_circuit_state", service="catalog", state="closed") == 2
            )

        with httpx.Client() as prometheus:
            wait_for(published)


def test_a_killed_worker_leaves_the_live_sums_and_keeps_its_counts(
    stack: DemoProcess, tmp_path: Path
) -> None:
    with two_workers(stack, tmp_path) as workers:
        send_until(
            lambda: workers.post(body(PRODUCT_PAGE)),
            lambda: len(workers.counting("bff_graphql_requests_total")) == 2,
        )
        wait_for(
            lambda: (
                len(workers.counting("bff_circuit_state", service="catalog", state="closed")) == 2
            )
        )
        before = workers.scrape()
        first = set(workers.counting("bff_circuit_state", state="closed"))
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        # The server starts a replacement, which publishes its breakers' states.
        wait_for(lambda: bool(set(workers.counting("bff_circuit_state", state="closed")) - first))
        after = workers.scrape()

    assert sample(after, "bff_circuit_state", service="catalog", state="closed") == 2
    assert not (workers.directory / f"gauge_livesum_{victim}.db").exists()
    assert requests_of(after, PRODUCT_PAGE.name, outcome="ok") == requests_of(
        before, PRODUCT_PAGE.name, outcome="ok"
    )


def test_workers_that_stop_leave_the_live_sums_at_once(stack: DemoProcess, tmp_path: Path) -> None:
    with two_workers(stack, tmp_path) as workers:
        wait_for(lambda: len(workers.counting("bff_circuit_state", state="closed")) == 2)
        first = set(workers.counting("bff_circuit_state", state="closed"))
        (parent,) = re.findall(r"Started parent process \[(\d+)\]", workers.log.read_text())
        # uvicorn replaces each worker, stopping the old one as a deployment would.
        os.kill(int(parent), signal.SIGHUP)
        wait_for(lambda: not any(map(running, first)), timeout_s=60)
        # No scrape since: the stopped workers removed their own gauges.
        left = [pid for pid in first if (workers.directory / f"gauge_livesum_{pid}.db").exists()]

    assert left == []


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_each_run_counts_from_zero(stack: DemoProcess, tmp_path: Path) -> None:
    directory = tmp_path / "kept"
    with two_workers(stack, tmp_path, directory) as first:
        for _ in range(3):
            first.post(body(PRODUCT_PAGE))
        counted = first.scrape()
    with two_workers(stack, tmp_path, directory) as second:
        recounted = second.scrape()

    assert requests_of(counted, PRODUCT_PAGE.name, outcome="ok") == 3
    assert requests_of(recounted, PRODUCT_PAGE.name, outcome="ok") == 0


def gauge_writers(temporary: Path) -> set[str]:
    """The processes that have written gauges in a metrics directory made under `temporary`."""
    return {path.stem.rsplit("_", 1)[1] for path in temporary.glob("bff-metrics-*/gauge_*.db")}


def test_without_a_directory_given_the_workers_share_a_temporary_one(
    stack: DemoProcess, tmp_path: Path
) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    with serving_bff(stack, tmp_path / "bff.log", BFF_WORKERS="2", TMPDIR=str(temporary)):
        # Ready means one worker answers; each publishes its gauges within a second of starting.
        wait_for(lambda: len(gauge_writers(temporary)) == 2)
        made = list(temporary.glob("bff-metrics-*"))
        files = {path.name for path in made[0].glob("*.db")} if made else set()
    with serving_bff(stack, tmp_path / "one.log", BFF_WORKERS="1", TMPDIR=str(temporary)):
        made_for_one = list(temporary.glob("bff-metrics-*"))

    assert len(made) == 1
    assert len({name.rsplit("_", 1)[1] for name in files if name.startswith("gauge_")}) == 2
    assert not made[0].exists()
    assert made_for_one == []


def test_two_workers_without_redis_say_once_what_each_keeps(
    stack: DemoProcess, tmp_path: Path
) -> None:
    with two_workers(stack, tmp_path) as workers:
        pass

    lines = workers.log.read_text().splitlines()
    assert [line.split(" ", 2)[2] for line in lines if "BFF_REDIS_URL" in line] == [STARTUP_LINE]


def test_apq_registered_through_one_worker_is_found_by_both_through_redis(
    stack: DemoProcess, tmp_path: Path
) -> None:
    query = f'query Unique{os.urandom(6).hex()} {{ product(id: "p1") {{ id name }} }}'
    sha256 = hashlib.sha256(query.encode()).hexdigest()
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": sha256}}
    answers: list[httpx.Response] = []

    def hash_only_answered() -> bool:
        hit = workers.counting("bff_persisted_queries_total", outcome="hit")
        miss = workers.counting("bff_persisted_queries_total", outcome="miss")
        return len(hit.keys() | miss.keys()) == 2

    try:
        with two_workers(stack, tmp_path, BFF_REDIS_URL=REDIS_URL) as workers:
            registered = workers.post({"query": query, "extensions": persisted})
            send_until(
                lambda: answers.append(workers.post({"extensions": persisted})),
                hash_only_answered,
            )
    finally:
        with Redis.from_url(REDIS_URL) as redis:
            redis.delete(REDIS_PREFIX + sha256)

    assert registered.json()["data"]["product"]["id"] == "p1"
    assert [answer.json() for answer in answers] == [registered.json()] * len(answers)
    assert "without BFF_REDIS_URL" not in workers.log.read_text()


def test_a_rate_limit_holds_across_workers_through_redis(
    stack: DemoProcess, tmp_path: Path
) -> None:
    listing = {"query": CATEGORY_LISTING.query, "variables": {"category": "c1"}}  # costs 1,301
    caller = signed_in(f"user-{os.urandom(6).hex()}")
    refusals: list[httpx.Response] = []
    with two_workers(
        stack,
        tmp_path,
        BFF_REDIS_URL=REDIS_URL,
        BFF_RATE_LIMIT="true",
        BFF_RATE_LIMIT_CAPACITY="2000",
        BFF_RATE_LIMIT_REFILL_PER_S="1",
    ) as workers:
        spent = workers.post(listing, caller)
        send_until(
            lambda: refusals.append(workers.post(listing, caller)),
            # Refused before the document is read: counted as an unknown operation.
            lambda: len(workers.counting("bff_graphql_requests_total", outcome="error")) == 2,
        )

    assert spent.status_code == 200
    assert {refusal.status_code for refusal in refusals} == {429}
