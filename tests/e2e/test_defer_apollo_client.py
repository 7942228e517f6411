"""Apollo Client reads the BFF's `@defer` answers as it reads Apollo Router's.

Node runs `tests/js/defer.mjs` (`@apollo/client` with its `Defer20220824Handler`
and `HttpLink`) against the BFF on a loopback port. The reviews service holds
its requests until the test has seen the first result: the first part must
come while the slow service has not answered (order, not wall time).
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from bff.contract.examples import PRODUCT_PAGE, PRODUCT_PAGE_DEFERRED
from tests.harness import sample
from tests.sockets import subscribable_bff

pytestmark = pytest.mark.e2e

GRAPHQL_JS = Path(__file__).parents[1] / "js"
PATIENCE_S = 20


async def line(stream: asyncio.StreamReader) -> dict[str, Any]:
    read = await asyncio.wait_for(stream.readline(), PATIENCE_S)
    assert read, "the client ended without a result"
    decoded: dict[str, Any] = json.loads(read)
    return decoded


async def test_apollo_client_assembles_the_deferred_page_and_sees_the_first_part_first() -> None:
    node = shutil.which("node")
    assert node, "Node.js is needed to run Apollo Client (scripts/system-tools installs it)"
    assert (GRAPHQL_JS / "node_modules" / "@apollo" / "client").is_dir(), (
        "tests/js has no packages: `npm ci --prefix tests/js` (`make pytest` runs it)"
    )
    async with subscribable_bff({"BFF_RESPONSE_CACHE": "false"}) as stack:
        reviews = stack.demo["reviews"].faults.hold
        reviews.catch(50)
        client = await asyncio.create_subprocess_exec(
            node,
            str(GRAPHQL_JS / "defer.mjs"),
            f"{stack.bff.url}/graphql",
            "p1",
            PRODUCT_PAGE_DEFERRED.query,
            PRODUCT_PAGE.query,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert client.stdout is not None
        try:
            await asyncio.wait_for(reviews.caught(1), PATIENCE_S)
            first = await line(client.stdout)
            # The reviews service still holds every request it got: nothing it
            # answers has reached the client, and the first part has.
            assert first["dataState"] == "streaming"
            product = first["data"]["product"]
            assert product["name"]
            assert product["stock"] is not None
            assert "reviews" not in product
            assert "rating" not in product
            await reviews.release()
            results = [first]
            while "whole" not in results[-1]:
                results.append(await line(client.stdout))
        finally:
            await reviews.release()
            if client.returncode is None:
                _, errors = await asyncio.wait_for(client.communicate(), PATIENCE_S)
            else:
                errors = b""
    assert client.returncode == 0, errors.decode()

    *streamed, whole = results
    assert streamed[-1]["dataState"] == "complete"
    assert [result["dataState"] for result in streamed[:-1]] == ["streaming"] * (len(streamed) - 1)
    assert streamed[-1]["data"] == whole["whole"]


async def test_a_client_that_leaves_mid_stream_ends_the_operation() -> None:
    async with subscribable_bff({"BFF_MAX_IN_FLIGHT": "1"}) as stack:
        reviews = stack.demo["reviews"].faults.hold
        reviews.catch(50)
        body = {"query": PRODUCT_PAGE_DEFERRED.query, "variables": {"id": "p2"}}
        headers = {"accept": "multipart/mixed;deferSpec=20220824"}
        async with (
            httpx.AsyncClient(base_url=stack.bff.url, timeout=PATIENCE_S) as http,
            http.stream("POST", "/graphql", json=body, headers=headers) as reply,
        ):
            first = b""
            async for chunk in reply.aiter_raw():
                first += chunk
                if first.count(b"\r\n---") >= 2:
                    break
        # Gone with reviews still held: the operation ends, the slot it took is free again.
        await reviews.release()

        async def in_flight() -> float:
            samples = await stack.http.metrics()
            return sample(samples, "bff_graphql_requests_in_flight")

        for _ in range(200):
            if await in_flight() == 0:
                break
            await asyncio.sleep(0.05)
        assert await in_flight() == 0
        # With BFF_MAX_IN_FLIGHT=1, a leaked slot would shed this one with a 503.
        after = await stack.http.query('{ product(id: "p1") { name } }')
    assert b'"hasNext":true' in first
    assert after.status == 200
