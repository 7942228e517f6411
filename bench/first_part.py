"""Time to the first part and to the last of a deferred ProductPage, one request at a time.

The reviews service is slowed (`latency_ms`); ProductPageDeferred defers the
rating and reviews it answers. Run: `python -m bench.first_part [--latency-ms 200]
[--requests 30]`. The BFF and the demo services run in this process, on loopback
ports, so the client reads the multipart stream as a browser would.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx

from bff.contract.examples import PRODUCT_PAGE, PRODUCT_PAGE_DEFERRED
from tests.sockets import subscribable_bff

MULTIPART = "multipart/mixed;deferSpec=20220824,application/json"


async def timed(http: httpx.AsyncClient, query: str, product: str) -> tuple[float, float]:
    """Seconds to the first part's end and to the response's end."""
    body = {"query": query, "variables": {"id": product}}
    started = time.perf_counter()
    first = None
    received = b""
    async with http.stream("POST", "/graphql", json=body, headers={"accept": MULTIPART}) as reply:
        async for chunk in reply.aiter_raw():
            received += chunk
            # A part is whole once the boundary after it arrived.
            if first is None and received.count(b"\r\n---") >= 2:
                first = time.perf_counter() - started
    last = time.perf_counter() - started
    return first if first is not None else last, last


async def main(latency_ms: float, requests: int) -> None:
    env = {"BFF_RESPONSE_CACHE": "false", "BFF_DOWNSTREAM_CACHE": "false"}
    async with subscribable_bff(env) as stack:
        stack.demo["reviews"].faults.latency_ms = latency_ms
        async with httpx.AsyncClient(base_url=stack.bff.url, timeout=10) as http:
            for query in (PRODUCT_PAGE.query, PRODUCT_PAGE_DEFERRED.query):
                await timed(http, query, "p1")  # prepared once before timing
            rows = []
            for name, query in (
                ("deferred", PRODUCT_PAGE_DEFERRED.query),
                ("whole", PRODUCT_PAGE.query),
            ):
                firsts, lasts = [], []
                for index in range(requests):
                    first, last = await timed(http, query, f"p{index % 20 + 1}")
                    firsts.append(first * 1000)
                    lasts.append(last * 1000)
                rows.append((name, statistics.median(firsts), statistics.median(lasts)))
    print(f"ProductPage, reviews slowed to {latency_ms:.0f} ms, c=1, {requests} requests, medians:")
    for name, first, last in rows:
        print(f"  {name:9} first part {first:7.1f} ms   last {last:7.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--requests", type=int, default=30)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.latency_ms, arguments.requests))
