"""`python -m bench` (`make bench`): the reference operations, mode by mode, under load.

Starts the demo services with added latency, then for each mode a BFF with one
worker pinned to one core, in the production profile (bearer tokens verified,
rate limits off), and drives each reference operation from the other core at
each concurrency, over the demo's whole keyspace (`bench.traffic`). All modes
run in one invocation so that their ratios hold on a noisy machine. Each cell
reports req/s, p50 and p99, and the BFF's CPU time per operation (its process
CPU time over the cell divided by the requests answered). Prints a table and
writes the same as JSON. `--workers N` runs the BFF with N workers instead,
not pinned: the scheduler spreads them over every core, the load generator's
and the services' included.

Modes:
  naive    loaders and caches off: one downstream call per field, graphql-core's
           executor, as a field-by-field Strawberry server would run
  batched  loaders on, caches off, still graphql-core's executor
  cached   everything on but the response cache: the shared downstream cache,
           coalescing, the document cache and planned execution
  full     everything on, including the response cache for public queries
  traced   cached, plus a span for everything (always-on sampler) exported over
           OTLP/HTTP to a local sink; the other modes record no spans
  silent   cached with usage analytics off (BFF_USAGE_SINK=none): against
           cached, what usage reporting costs per operation
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import httpx
import orjson

from bench.load import drive, generator_name
from bench.processes import BffProcess, machine, pinned
from bench.sink import SpanSink
from bench.traffic import KEYSPACES, Request, traffic
from bff.contract.examples import PRODUCT_PAGE_DEFERRED, REFERENCE_OPERATIONS, Example
from demo.identity import ISSUER, IdentityProvider
from demo.launch import DemoProcess, launch

# Generous downstream timeouts: the benchmark measures throughput and latency,
# and the naive mode's backlog would otherwise turn into timeouts.
COMMON = {
    "BFF_DOWNSTREAM_TIMEOUT_MS": "30000",
    # The naive baseline takes seconds per listing under load: measure it, do not cut it.
    "BFF_OPERATION_BUDGET_MS": "60000",
    "OTEL_TRACES_SAMPLER": "always_off",
    # Events cost what they cost in production, but go nowhere they would pile up.
    "BFF_USAGE_FILE": os.devnull,
}
PROFILES: dict[str, dict[str, str]] = {
    # Tokens verified against the demo's identity provider; throughput, not budgets, measured.
    "production": {
        "BFF_PROFILE": "production",
        "BFF_AUTH_ISSUER": ISSUER,
        "BFF_RATE_LIMIT": "false",
    },
    "demo": {"BFF_PROFILE": "demo"},
}
MODES: dict[str, dict[str, str]] = {
    "naive": {
        "BFF_BATCHING": "false",
        "BFF_DOWNSTREAM_CACHE": "false",
        "BFF_DOCUMENT_CACHE_MB": "0",
        "BFF_PLANNED_EXECUTION": "false",
        "BFF_RESPONSE_CACHE": "false",
    },
    "batched": {
        "BFF_DOWNSTREAM_CACHE": "false",
        "BFF_DOCUMENT_CACHE_MB": "0",
        "BFF_PLANNED_EXECUTION": "false",
        "BFF_RESPONSE_CACHE": "false",
    },
    "cached": {"BFF_RESPONSE_CACHE": "false"},
    "full": {},
    "traced": {"BFF_RESPONSE_CACHE": "false", "OTEL_TRACES_SAMPLER": "always_on"},
    "silent": {"BFF_RESPONSE_CACHE": "false", "BFF_USAGE_SINK": "none"},
}


@dataclass(frozen=True, slots=True)
class Row:
    operation: str
    mode: str
    concurrency: int
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_operation: float
    calls_per_operation: float
    warm_calls: int
    errors: int
    peak_rss_mb: float


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.smoke:
        args.duration, args.warmup, args.concurrency, args.quiet = 1.0, 0.0, [1, 4], 0.1
    operations = [op for op in BENCHED if op.name in args.operations]
    demo = launch(["--latency-ms", str(args.latency_ms)], prefix=pinned(args.load_cpu))
    rows: list[Row] = []
    try:
        with SpanSink() as sink:
            for mode in args.modes:
                rows += _run_mode(mode, operations, demo, args, sink.endpoint)
    finally:
        demo.stop()
    report = {
        "machine": machine(),
        "profile": args.profile,
        "workers": args.workers,
        "keyspace": args.keyspace,
        "downstream_latency_ms": args.latency_ms,
        "load_generator": generator_name(),
        "duration_s": args.duration,
        "rows": [asdict(row) for row in rows],
    }
    print(_table(report, rows))
    output = Path(args.output or f"bench/results/bench-{time.strftime('%Y%m%d-%H%M%S')}.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {output}")
    return 0


BENCHED = (*REFERENCE_OPERATIONS, PRODUCT_PAGE_DEFERRED)
"""What `--operations` may name."""


def _run_mode(
    mode: str,
    operations: list[Example],
    demo: DemoProcess,
    args: argparse.Namespace,
    span_sink: str,
) -> list[Row]:
    env = {**demo.bff_env(), **COMMON, **PROFILES[args.profile], **MODES[mode]}
    if mode == "traced":
        env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = span_sink
    identity = IdentityProvider()
    bff = BffProcess(env, cpu=args.bff_cpu, workers=args.workers)
    rows: list[Row] = []
    try:
        for example in operations:
            url = f"{bff.url}/graphql"
            sent = traffic(example, args.keyspace, identity)
            _check(url, sent.first, example)
            if args.warmup:
                drive(
                    url,
                    sent,
                    concurrency=max(args.concurrency),
                    seconds=args.warmup,
                    cpu=args.load_cpu,
                )
                _wait_until_idle(demo, args.quiet)
            # Warm: right after a request of its own (entries near their max-age refreshed).
            _check(url, sent.first, example)
            demo.reset(faults=False)
            _check(url, sent.first, example)
            warm_calls = demo.calls()
            for concurrency in args.concurrency:
                demo.reset(faults=False)
                cpu_before = bff.cpu_seconds()
                result = drive(
                    url, sent, concurrency=concurrency, seconds=args.duration, cpu=args.load_cpu
                )
                cpu = bff.cpu_seconds() - cpu_before
                rows.append(
                    Row(
                        operation=example.name,
                        mode=mode,
                        concurrency=concurrency,
                        rps=result.rps,
                        p50_ms=result.p50_ms,
                        p99_ms=result.p99_ms,
                        cpu_ms_per_operation=cpu * 1000 / max(1, result.requests),
                        calls_per_operation=demo.calls() / max(1, result.requests),
                        warm_calls=warm_calls,
                        errors=result.errors,
                        peak_rss_mb=0.0,
                    )
                )
                # Requests the load generator gave up on must not count in the next cell.
                _wait_until_idle(demo, args.quiet)
        peak = bff.peak_rss_mb()
    finally:
        bff.stop()
    return [replace(row, peak_rss_mb=peak) for row in rows]


def _wait_until_idle(demo: DemoProcess, quiet_s: float) -> None:
    """Let the BFF finish requests the load generator gave up on (their calls stop)."""
    before = demo.calls()
    while True:
        time.sleep(quiet_s)
        now = demo.calls()
        if now == before:
            return
        before = now


def _check(url: str, request: Request, example: Example) -> None:
    """The operation answers correctly before it is timed."""
    answer = httpx.post(url, content=request.body, headers=request.headers, timeout=60)
    if answer.headers.get("content-type", "").startswith("multipart/mixed"):
        # Parts: the initial payload holds data, none holds errors, the last ends the stream.
        parts = [
            orjson.loads(chunk.partition(b"\r\n\r\n")[2])
            for chunk in answer.content.split(b"\r\n---")[1:-1]
        ]
        failed = not parts or not parts[0].get("data") or parts[-1].get("hasNext") is not False
        failed = failed or any(
            payload.get("errors")
            or any(part.get("errors") for part in payload.get("incremental", []))
            for payload in parts
        )
    else:
        payload = answer.json()
        failed = bool(payload.get("errors")) or not payload.get("data")
    if answer.status_code != 200 or failed:
        raise RuntimeError(f"{example.name} failed before the run: {answer.text[:300]}")


def _table(report: dict[str, object], rows: list[Row]) -> str:
    header = (
        f"{report['machine']}; {report['profile']} profile, {report['keyspace']} keyspace; "
        f"{report['workers']} BFF worker(s); "
        f"downstream latency {report['downstream_latency_ms']} ms; "
        f"load: {report['load_generator']}, {report['duration_s']} s per cell\n"
    )
    columns = (
        f"{'operation':<20}{'mode':<9}{'c':>4}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'CPU ms/op':>11}{'calls/op':>10}{'warm calls':>12}{'errors':>8}{'peak RSS MB':>13}"
    )
    lines = [header, columns, "-" * len(columns)]
    for row in sorted(rows, key=lambda r: (r.operation, list(MODES).index(r.mode), r.concurrency)):
        lines.append(
            f"{row.operation:<20}{row.mode:<9}{row.concurrency:>4}{row.rps:>10.1f}"
            f"{row.p50_ms:>9.1f}{row.p99_ms:>9.1f}{row.cpu_ms_per_operation:>11.2f}"
            f"{row.calls_per_operation:>10.2f}"
            f"{row.warm_calls:>12}{row.errors:>8}{row.peak_rss_mb:>13.1f}"
        )
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--latency-ms", type=float, default=5.0, help="added downstream latency")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measured cell")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before each")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    parser.add_argument(
        "--keyspace",
        choices=KEYSPACES,
        default="rotating",
        help="rotating: every key of the demo in turn; fixed: the example's own variables",
    )
    parser.add_argument("--profile", choices=list(PROFILES), default="production")
    parser.add_argument(
        "--operations",
        nargs="+",
        choices=[op.name for op in BENCHED],
        default=[op.name for op in REFERENCE_OPERATIONS],
        help="the reference operations by default; ProductPageDeferred is read in parts",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="BFF worker processes; more than one are not pinned, the scheduler spreads them",
    )
    parser.add_argument("--bff-cpu", type=int, default=0, help="core one BFF worker is pinned to")
    parser.add_argument("--load-cpu", type=int, default=1, help="core for load and services")
    parser.add_argument(
        "--quiet",
        type=float,
        default=1.0,
        help="seconds without downstream calls that mean the BFF is idle again",
    )
    parser.add_argument("--smoke", action="store_true", help="a few seconds, to check it runs")
    parser.add_argument("--output", help="where to write the JSON (default bench/results/)")
    return parser
