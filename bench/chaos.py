"""`python -m bench.chaos` (`make chaos`): the reference operations while services misbehave.

After one pass over every product, category and signed-in user (so that the
caches hold the data set) and a short warm-up, for two minutes, 32 concurrent
clients send a mix of `ProductPage`, `CategoryListing` and `HomeFeed` (random
products, categories and signed-in users) to one BFF worker pinned to one
core, while:

- inventory answers 10% of its requests with 503 and lets 1% hang;
- reviews runs as a process of its own that is restarted every 20 s.

Every response is inspected, and the report says what a frontend felt: the
share of responses that are valid GraphQL results without a top-level error
(errors only on fields), the share of fields answered, latency percentiles
against the operation budget, 5xx answers, the BFF's memory at start and end,
and what the protections did (retries, hedges, stale answers, breaker moves).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.processes import BffProcess, machine
from bff.contract.examples import CATEGORY_LISTING, HOME_FEED, PRODUCT_PAGE
from demo.identity import IdentityProvider
from demo.launch import READY_LINE, DemoProcess, free_port_base, stop, wait_for_line
from demo.services import ALL_NAMES

BUDGET_MS = 2500.0
SIGNED_IN_USERS = 200


@dataclass
class Tally:
    """What the clients saw."""

    responses: int = 0
    valid_results: int = 0
    server_errors: int = 0
    degraded: int = 0
    fields: int = 0
    fields_answered: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    per_operation: Counter[str] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else 0.0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {args.load_cpu})
    base = free_port_base(len(ALL_NAMES))
    ports = {name: base + index for index, name in enumerate(ALL_NAMES, 1)}
    steady = [name for name in ALL_NAMES if name != "reviews"]
    faults_env = {
        **os.environ,
        "DEMO_LATENCY_MS": str(args.latency_ms),
        "DEMO_INVENTORY_ERROR_RATE": str(args.error_rate),
        "DEMO_INVENTORY_HANG_RATE": str(args.hang_rate),
    }
    services = _start_demo([*steady, "--base-port", str(base)], faults_env)
    demo = DemoProcess(services, ports)
    reviews = Restarter(["reviews", "--port", str(ports["reviews"])], faults_env, args.restart_s)
    bff: BffProcess | None = None
    try:
        env = {**demo.bff_env(), "OTEL_TRACES_SAMPLER": "always_off", "BFF_USAGE_FILE": os.devnull}
        bff = BffProcess(env, cpu=args.bff_cpu)
        rss_ready = _rss_mb(bff)
        reviews.start()
        tally, rss_warm = asyncio.run(_drive(bff, args))
        rss_end = _rss_mb(bff)
        counters = _protections(bff.url)
    finally:
        reviews.stop()
        if bff is not None:
            bff.stop()
        stop(services)
    report = {
        "machine": machine(),
        "duration_s": args.duration,
        "concurrency": args.concurrency,
        "downstream_latency_ms": args.latency_ms,
        "faults": {
            "inventory": {"error_rate": args.error_rate, "hang_rate": args.hang_rate},
            "reviews": f"restarted every {args.restart_s:g} s ({reviews.restarts} restarts)",
        },
        "responses": tally.responses,
        "valid_results_pct": _pct(tally.valid_results, tally.responses),
        "fields_answered_pct": _pct(tally.fields_answered, tally.fields),
        "degraded_responses": tally.degraded,
        "server_errors_5xx": tally.server_errors,
        "statuses": dict(tally.statuses),
        "transport_errors": dict(tally.transport_errors),
        "p50_ms": round(tally.percentile(0.50), 1),
        "p99_ms": round(tally.percentile(0.99), 1),
        "max_ms": round(max(tally.latencies_ms, default=0.0), 1),
        "budget_ms": BUDGET_MS,
        "rss_mb": {"ready": rss_ready, "after_warmup": rss_warm, "end": rss_end},
        "rss_growth_pct": _pct(rss_end - rss_warm, rss_warm),
        "per_operation": dict(tally.per_operation),
        "protections": counters,
    }
    print(_table(report))
    output = Path(args.output or f"bench/results/chaos-{time.strftime('%Y%m%d-%H%M%S')}.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {output}")
    return 0


def _start_demo(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "demo", *args], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        wait_for_line(process, READY_LINE, timeout_s=30)
    except BaseException:
        stop(process)
        raise
    return process


class Restarter:
    """A demo service in a process of its own, stopped and started again on a period."""

    def __init__(self, args: list[str], env: dict[str, str], period_s: float) -> None:
        self._args = args
        self._env = env
        self._period_s = period_s
        self._process = _start_demo(args, env)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.restarts = 0

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(self._period_s):
            stop(self._process)
            self._process = _start_demo(self._args, self._env)
            self.restarts += 1

    def stop(self) -> None:
        self._done.set()
        self._thread.join(timeout=60)
        stop(self._process)


async def _drive(bff: BffProcess, args: argparse.Namespace) -> tuple[Tally, float]:
    rng = random.Random(args.seed)
    identity = IdentityProvider()
    tokens = [
        f"Bearer {identity.sign(f'u{number}', scope='', ttl_s=3600)}"
        for number in range(1, SIGNED_IN_USERS + 1)
    ]
    tally = Tally()
    limits = httpx.Limits(max_connections=args.concurrency)
    rss_warm = 0.0
    async with httpx.AsyncClient(base_url=bff.url, limits=limits, timeout=30) as client:
        await _prime(client, tokens, args.concurrency)
        started = time.monotonic()
        warm_until = started + args.warmup
        stop_at = warm_until + args.duration

        async def worker() -> None:
            while time.monotonic() < stop_at:
                name, body, headers = _pick(rng, tokens)
                sent = time.monotonic()
                try:
                    response = await client.post("/graphql", json=body, headers=headers)
                except httpx.TransportError as error:
                    if sent >= warm_until:
                        tally.transport_errors[type(error).__name__] += 1
                    continue
                if sent >= warm_until:
                    _count(tally, name, response, (time.monotonic() - sent) * 1000)

        async def sample_memory() -> None:
            nonlocal rss_warm
            await asyncio.sleep(max(0.0, warm_until - time.monotonic()))
            rss_warm = _rss_mb(bff)

        await asyncio.gather(sample_memory(), *(worker() for _ in range(args.concurrency)))
    return tally, rss_warm


async def _prime(client: httpx.AsyncClient, tokens: list[str], concurrency: int) -> None:
    """Ask for every product, category and signed-in user once, so caches hold the data set.

    Memory is then compared between the end of the warm-up and the end of the
    run: what grows after that is not the caches filling up.
    """
    bodies: list[tuple[dict[str, object], dict[str, str]]] = [
        ({"query": PRODUCT_PAGE.query, "variables": {"id": f"p{number}"}}, {})
        for number in range(1, 5001)
    ]
    bodies += [
        ({"query": CATEGORY_LISTING.query, "variables": {"category": f"c{number}"}}, {})
        for number in range(1, 21)
    ]
    bodies += [({"query": HOME_FEED.query}, {"authorization": token}) for token in tokens]
    queue = iter(bodies)

    async def worker() -> None:
        for body, headers in queue:
            with contextlib.suppress(httpx.TransportError):
                await client.post("/graphql", json=body, headers=headers)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def _pick(rng: random.Random, tokens: list[str]) -> tuple[str, dict[str, object], dict[str, str]]:
    roll = rng.random()
    if roll < 0.5:
        variables = {"id": f"p{rng.randint(1, 5000)}"}
        return "ProductPage", {"query": PRODUCT_PAGE.query, "variables": variables}, {}
    if roll < 0.75:
        variables = {"category": f"c{rng.randint(1, 20)}"}
        return "CategoryListing", {"query": CATEGORY_LISTING.query, "variables": variables}, {}
    headers = {"authorization": rng.choice(tokens)}
    return "HomeFeed", {"query": HOME_FEED.query, "variables": dict(HOME_FEED.variables)}, headers


def _count(tally: Tally, name: str, response: httpx.Response, elapsed_ms: float) -> None:
    tally.responses += 1
    tally.per_operation[name] += 1
    tally.statuses[response.status_code] += 1
    tally.latencies_ms.append(elapsed_ms)
    if response.status_code >= 500:
        tally.server_errors += 1
    try:
        body = response.json()
    except ValueError:
        return
    data = body.get("data") if isinstance(body, dict) else None
    errors = body.get("errors", []) if isinstance(body, dict) else []
    located = all(isinstance(error, dict) and error.get("path") for error in errors)
    if response.status_code == 200 and isinstance(data, dict) and located:
        tally.valid_results += 1
    if isinstance(body, dict) and body.get("extensions", {}).get("degraded"):
        tally.degraded += 1
    failed = {
        tuple(error["path"]) for error in errors if isinstance(error, dict) and "path" in error
    }
    answered, total = _fields(data, (), failed)
    tally.fields += total
    tally.fields_answered += answered


def _fields(value: Any, path: tuple[Any, ...], failed: set[tuple[Any, ...]]) -> tuple[int, int]:
    """(answered, total) over the fields of a result; a null field with an error failed."""
    answered = total = 0
    if isinstance(value, dict):
        for key, child in value.items():
            here = (*path, key)
            total += 1
            if not (child is None and here in failed):
                answered += 1
            inner = _fields(child, here, failed)
            answered, total = answered + inner[0], total + inner[1]
    elif isinstance(value, list):
        for index, item in enumerate(value):
            inner = _fields(item, (*path, index), failed)
            answered, total = answered + inner[0], total + inner[1]
    return answered, total


def _rss_mb(bff: BffProcess) -> float:
    status = Path(f"/proc/{bff.process.pid}/status")
    if not status.exists():
        return 0.0
    for line in status.read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _protections(url: str) -> dict[str, float]:
    """Totals of the BFF's resilience counters, by metric and first label."""
    totals: dict[str, float] = {}
    wanted = (
        "bff_downstream_retries_total",
        "bff_downstream_retries_refused_total",
        "bff_downstream_hedges_total",
        "bff_stale_served_total",
        "bff_circuit_transitions_total",
        "bff_requests_shed_total",
    )
    text = httpx.get(f"{url}/metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in wanted:
                detail = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                key = f"{sample.name}{{{detail}}}"
                totals[key] = totals.get(key, 0.0) + sample.value
    return dict(sorted(totals.items()))


def _pct(part: float, whole: float) -> float:
    return round(100 * part / whole, 3) if whole else 0.0


def _table(report: dict[str, Any]) -> str:
    lines = [
        f"chaos run: {report['duration_s']:g} s at concurrency {report['concurrency']}, "
        f"{report['machine']}",
        f"faults: {report['faults']}",
        f"responses: {report['responses']}  statuses: {report['statuses']}  "
        f"transport errors: {report['transport_errors']}",
        f"valid results (no top-level error): {report['valid_results_pct']} %  (target 100 %)",
        f"fields answered: {report['fields_answered_pct']} %  "
        f"degraded responses: {report['degraded_responses']}",
        f"latency p50 {report['p50_ms']} ms, p99 {report['p99_ms']} ms, "
        f"max {report['max_ms']} ms  (budget {report['budget_ms']:g} ms)",
        f"5xx: {report['server_errors_5xx']}  (target 0)",
        f"RSS MB: {report['rss_mb']}  growth {report['rss_growth_pct']} %  (target < 10 %)",
        "protections:",
        *(f"  {name} {value:g}" for name, value in report["protections"].items()),
    ]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__)
    parser.add_argument("--duration", type=float, default=120.0, help="seconds measured")
    parser.add_argument(
        "--warmup", type=float, default=10.0, help="seconds of load after priming, unmeasured"
    )
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--error-rate", type=float, default=0.1, help="inventory's 503 share")
    parser.add_argument("--hang-rate", type=float, default=0.01, help="inventory's hang share")
    parser.add_argument("--restart-s", type=float, default=20.0, help="reviews restart period")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--bff-cpu", type=int, default=0)
    parser.add_argument("--load-cpu", type=int, default=1)
    parser.add_argument("--output", help="where to write the JSON report")
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
