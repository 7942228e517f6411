"""`python -m bench.refusals`: what hostile documents cost to refuse, and what they stall.

Sends each document of a corpus of the cheapest requests that make a GraphQL
server work hardest (each within `BFF_MAX_BODY_BYTES`) to the app in process,
in the production profile, several times, each time as a document never seen
before (a fresh comment defeats the document cache). For each it reports the
answer, the process CPU time the request took (the preparation thread's
included) and the longest the event loop went without running, measured by a
task that asks to run every millisecond.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Callable

import httpx

from bff.cli.serve import tune_garbage_collector
from bff.config.settings import Settings
from bff.http.app import create_app
from demo.services import ALL_NAMES, build_services

REPEATS = 5


def _fan_out(n: int) -> str:
    spreads = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(n))
    return f"{{ ...F0 }} {spreads} fragment F{n} on Query {{ __typename }}"


def _chain(n: int) -> str:
    spreads = " ".join(f"fragment C{i} on Query {{ ...C{i + 1} }}" for i in range(n))
    return f"{{ ...C0 }} {spreads} fragment C{n} on Query {{ __typename }}"


CORPUS: dict[str, Callable[[], str]] = {
    "list sizes past 2^64": lambda: (
        '{ product(id: "p1") { related(first: 999999999) { related(first: 999999999) '
        "{ related(first: 999999999) { id } } } } }"
    ),
    "fragment fan-out (22)": lambda: _fan_out(22),
    "fragment fan-out (600)": lambda: _fan_out(600),
    "fragment cycle": lambda: (
        "{ ...A } fragment A on Query { product(id: 1) { ...B } } "
        "fragment B on Product { related { ...A } }"
    ),
    "fragment chain (190)": lambda: _chain(190),
    "fragment chain (700)": lambda: _chain(700),
    "unterminated string": lambda: '"\\' * 20_000,
    "unterminated block string": lambda: '"""' + "x" * 95_000,
    "comments": lambda: "#\n" * 6_000 + "{ __typename }",
    "5,000 tokens": lambda: '{ product(id: "p1") { ' + "id " * 4_990 + "} }",
    "overlapping fields": lambda: '{ product(id: "p1") { ' + "related { id } " * 900 + "} }",
    "1,200 variables": lambda: (
        "query(" + " ".join(f"$v{i}: Int" for i in range(1_200)) + ") { id }"
    ),
    "1,600 arguments": lambda: (
        '{ product(id: "p1", ' + ", ".join(f"a{i}: 1" for i in range(1_600)) + ") { id } }"
    ),
    "900 operations": lambda: " ".join(f"query Q{i} {{ __typename }}" for i in range(900)),
    "huge integer": lambda: '{ product(id: "p1") { related(first: ' + "9" * 4_500 + ") { id } } }",
    "long name": lambda: "{ " + "a" * 95_000 + " }",
    "nested introspection": lambda: (
        "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"
    ),
}


async def _measure(http: httpx.AsyncClient, document: str) -> tuple[int, str, float, float]:
    stall = 0.0
    running = True

    async def tick() -> None:
        nonlocal stall
        while running:
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            stall = max(stall, time.perf_counter() - before - 0.001)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.01)
    cpu = time.process_time()
    response = await http.post(
        "/graphql",
        json={"query": f"# {os.urandom(8).hex()}\n{document}"},
        headers={"accept": "application/graphql-response+json"},
    )
    cpu = time.process_time() - cpu
    running = False
    await ticker
    errors = response.json().get("errors") or [{}]
    code = str(errors[0].get("extensions", {}).get("code", "-"))
    return response.status_code, code, cpu, stall


async def run(env: dict[str, str]) -> None:
    services = build_services(ALL_NAMES)
    transports: dict[str, httpx.AsyncBaseTransport] = {
        name: httpx.ASGITransport(app=service.app) for name, service in services.items()
    }
    settings = Settings.from_environ(
        {"BFF_PROFILE": "production", "BFF_USAGE_SINK": "none", "BFF_RATE_LIMIT": "false", **env}
    )
    app = create_app(settings, transports=transports)
    # As a served worker does: what start-up built is left out of every collection.
    tune_garbage_collector()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bff") as http:
            heading = ("document", "bytes", "status", "code", "CPU ms", "stall ms")
            print("{:26} {:>7} {:>6} {:26} {:>7} {:>8}".format(*heading))
            worst = 0.0
            for name, build in CORPUS.items():
                document = build()
                results = [await _measure(http, document) for _ in range(REPEATS)]
                status, code = results[-1][0], results[-1][1]
                cpu = max(result[2] for result in results) * 1000
                stall = max(result[3] for result in results) * 1000
                worst = max(worst, cpu)
                print(f"{name:26} {len(document):7} {status:6} {code:26} {cpu:7.1f} {stall:8.1f}")
            print(f"worst CPU per refusal: {worst:.1f} ms (max of {REPEATS} fresh sends each)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("setting", nargs="*", help="extra BFF_* settings, NAME=VALUE")
    arguments = parser.parse_args()
    env = dict(item.split("=", 1) for item in arguments.setting)
    asyncio.run(run(env))


if __name__ == "__main__":
    main()
