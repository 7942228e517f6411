"""Driving load: wrk (C, with a generated Lua script) or, where wrk is missing, asyncio.

wrk is the load generator for real runs; the asyncio fallback exists so the
smoke run inside the test suite works on a machine without it, and says so.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson

from bench.traffic import Traffic

_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  local any = summary.requests > 0
  io.write(string.format(
    '\\nRESULT {"requests": %d, "duration_us": %d, "errors": %d, "p50_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    any and latency:percentile(50) or 0, any and latency:percentile(99) or 0))
end
"""


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    generator: str

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def generator_name() -> str:
    return "wrk" if shutil.which("wrk") else "python (wrk not found)"


def drive(
    url: str, traffic: Traffic, *, concurrency: int, seconds: float, cpu: int | None
) -> LoadResult:
    """POST `traffic`'s requests in turn to `url` from `concurrency` connections."""
    if shutil.which("wrk"):
        return _wrk(url, traffic, concurrency, seconds, cpu)
    return asyncio.run(_python(url, traffic, concurrency, seconds))


def _wrk(
    url: str, traffic: Traffic, concurrency: int, seconds: float, cpu: int | None
) -> LoadResult:
    bodies = ",\n".join(_lua_string(request.body.decode()) for request in traffic.requests)
    headers = ",\n".join(
        "{"
        + ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in r.headers.items())
        + "}"
        for r in traffic.requests
    )
    script_text = f"""
local bodies = {{
{bodies}
}}
local headers = {{
{headers}
}}
local turn = 0
request = function()
  turn = turn % #bodies + 1
  return wrk.format("POST", nil, headers[turn], bodies[turn])
end
"""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(script_text + _DONE)
    command = [
        "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        script.name,
        url,
    ]
    if cpu is not None and shutil.which("taskset"):
        command = ["taskset", "-c", str(cpu), *command]
    try:
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    finally:
        Path(script.name).unlink()
    if "RESULT " not in output:
        raise RuntimeError(f"wrk printed no result: {output[-500:]}")
    result = orjson.loads(output.split("RESULT ", 1)[1])
    return LoadResult(
        requests=result["requests"],
        seconds=result["duration_us"] / 1e6,
        errors=result["errors"],
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        generator="wrk",
    )


def _lua_table(items: Mapping[str, str]) -> str:
    return "{" + ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in items.items()) + "}"


def _lua_string(text: str) -> str:
    # JSON string syntax for printable ASCII is valid Lua string syntax too.
    return orjson.dumps(text).decode()


async def _python(url: str, traffic: Traffic, concurrency: int, seconds: float) -> LoadResult:
    latencies: list[float] = []
    errors = 0
    turns = itertools.cycle(traffic.requests)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        started = time.monotonic()
        deadline = started + seconds

        async def worker() -> None:
            nonlocal errors
            while time.monotonic() < deadline:
                request = next(turns)
                sent = time.monotonic()
                response = await client.post(url, content=request.body, headers=request.headers)
                latencies.append(time.monotonic() - sent)
                errors += response.status_code >= 400

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.monotonic() - started
    latencies.sort()

    def percentile(share: float) -> float:
        return latencies[min(len(latencies) - 1, int(share * len(latencies)))] * 1000

    return LoadResult(
        requests=len(latencies),
        seconds=elapsed,
        errors=errors,
        p50_ms=percentile(0.50) if latencies else 0.0,
        p99_ms=percentile(0.99) if latencies else 0.0,
        generator="python",
    )
