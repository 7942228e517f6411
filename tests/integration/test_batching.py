"""HTTP batching, as Apollo Server serves it: a JSON array in, a JSON array out.

Off by default; `BFF_BATCH_MAX` turns it on. Each entry goes through the
operation pipeline on its own; the batch shares its loaders, so its downstream
calls are those of one operation (counted by the demo services themselves).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path

import httpx
import orjson
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bff.cli.main import main
from bff.contract.examples import PRODUCT_PAGE
from bff.security.rate_limit import preparation_units
from demo.services import ALL_NAMES, build_services
from tests.harness import Clock, Harness, running_bff, sample, signed_in
from tests.paths import REPO_ROOT
from tests.sockets import subscribable_bff

CLIENTS = REPO_ROOT / "tests" / "js"

MODERN = {"accept": "application/graphql-response+json"}
# Cold counts: every read reaches a service, every answer is computed.
ON = {"BFF_BATCH_MAX": "5", "BFF_DOWNSTREAM_CACHE": "false", "BFF_RESPONSE_CACHE": "false"}
PRODUCTS = ("p1", "p2", "p3")
THREE_PRODUCTS = """query ThreeProducts($a: ID!, $b: ID!, $c: ID!) {
  a: product(id: $a) { ...Page }
  b: product(id: $b) { ...Page }
  c: product(id: $c) { ...Page }
}
fragment Page on Product {
  id
  name
  price { amount currency }
  stock { available }
  rating { average count }
  category { name }
  reviews(first: 5) { rating body author { name } }
}
"""


def _page(product_id: str) -> dict[str, object]:
    return {
        "query": PRODUCT_PAGE.query,
        "operationName": "ProductPage",
        "variables": {"id": product_id},
    }


async def _post(bff: Harness, body: object, accept: str = MODERN["accept"]) -> httpx.Response:
    return await bff.http.post("/graphql", json=body, headers={"accept": accept})


def _code(body: dict[str, object]) -> object:
    errors = body["errors"]
    assert isinstance(errors, list)
    return errors[0]["extensions"]["code"]


async def test_a_batch_of_product_pages_answers_as_three_requests_with_one_operations_calls() -> (
    None
):
    async with running_bff(ON) as bff:
        separate = [(await _post(bff, _page(product_id))).json() for product_id in PRODUCTS]
        separate_calls = bff.calls()
        bff.reset_calls()
        batched = await _post(bff, [_page(product_id) for product_id in PRODUCTS])
        batched_calls = bff.calls_by_route()
        bff.reset_calls()
        one = await bff.query(THREE_PRODUCTS, dict(zip("abc", PRODUCTS, strict=True)))
        one_operation_calls = bff.calls_by_route()

    assert batched.status_code == 200
    assert batched.headers["content-type"].startswith("application/graphql-response+json")
    assert batched.json() == separate
    assert "errors" not in one.body
    assert [one.data[alias] for alias in "abc"] == [page["data"]["product"] for page in separate]
    # The batch makes the calls of one operation asking for the three products.
    assert batched_calls == one_operation_calls
    assert sum(batched_calls.values()) < separate_calls
    assert batched_calls["catalog GET /products"] == 1


async def test_a_batch_of_one_is_a_single_operation_in_an_array() -> None:
    async with running_bff(ON) as bff:
        single = await _post(bff, _page("p2"))
        batch = await _post(bff, [_page("p2")])

    assert batch.status_code == single.status_code == 200
    assert batch.json() == [single.json()]


async def test_an_invalid_entry_is_answered_in_its_slot_and_the_rest_run() -> None:
    entries: list[object] = [
        _page("p1"),
        {"query": "{ product(id: ", "variables": {}},
        {"query": '{ product(id: "p2") { nothing } }'},
        "not an operation",
        {"query": 'subscription { orderStatus(orderId: "o1") { status } }'},
        _page("p3"),
    ]
    async with running_bff({**ON, "BFF_BATCH_MAX": "6"}) as bff:
        reply = await _post(bff, entries)
        legacy = await _post(bff, entries, accept="application/json")

    assert reply.status_code == legacy.status_code == 200
    answers = reply.json()
    assert len(answers) == len(entries)
    assert answers[0]["data"]["product"]["id"] == "p1"
    assert answers[5]["data"]["product"]["id"] == "p3"
    assert [_code(answer) for answer in answers[1:5]] == [
        "GRAPHQL_PARSE_FAILED",
        "GRAPHQL_VALIDATION_FAILED",
        "BAD_REQUEST",
        "BAD_REQUEST",
    ]
    assert "subscribe over the WebSocket" in answers[4]["errors"][0]["message"]
    assert all("data" not in answer for answer in answers[1:5])


async def test_batches_are_refused_while_batching_is_off() -> None:
    async with running_bff() as bff:
        modern = await _post(bff, [_page("p1")])
        legacy = await _post(bff, [_page("p1")], accept="application/json")
        calls = bff.calls()

    assert modern.status_code == legacy.status_code == 400
    assert _code(modern.json()) == "BAD_REQUEST"
    assert "BFF_BATCH_MAX" in modern.json()["errors"][0]["message"]
    assert calls == 0


async def test_a_batch_over_the_size_bound_is_refused_whole() -> None:
    async with running_bff({**ON, "BFF_BATCH_MAX": "2"}) as bff:
        reply = await _post(bff, [_page(product_id) for product_id in PRODUCTS])
        empty = await _post(bff, [])
        calls = bff.calls()

    assert reply.status_code == 400
    error = reply.json()["errors"][0]
    assert error["extensions"]["code"] == "BATCH_LIMIT_EXCEEDED"
    assert (error["extensions"]["measured"], error["extensions"]["maximum"]) == (3, 2)
    assert empty.status_code == 400
    assert _code(empty.json()) == "BAD_REQUEST"
    assert calls == 0


async def test_a_batch_costing_more_than_its_bound_is_refused_whole() -> None:
    cost = await _cost_of()
    bound = {**ON, "BFF_BATCH_MAX_COST": str(2 * cost)}
    async with running_bff(bound) as bff:
        two = await _post(bff, [_page("p1"), _page("p2")])
        bff.reset_calls()
        three = await _post(bff, [_page(product_id) for product_id in PRODUCTS])
        calls = bff.calls()

    assert two.status_code == 200
    assert all("errors" not in answer for answer in two.json())
    assert three.status_code == 400
    error = three.json()["errors"][0]
    assert error["extensions"]["code"] == "BATCH_LIMIT_EXCEEDED"
    assert (error["extensions"]["measured"], error["extensions"]["maximum"]) == (
        3 * cost,
        2 * cost,
    )
    assert calls == 0, "nothing of a refused batch runs"


async def _cost_of() -> int:
    """ProductPage's estimated cost, as the operations prepared for the rate limiter see it."""
    async with running_bff() as bff:
        assert bff.app is not None
        prepared = await bff.app.state.operations.prepare(PRODUCT_PAGE.query, "ProductPage")
    cost = prepared.cost
    assert isinstance(cost, int)
    assert cost > 1
    return cost


@pytest.fixture
def manifest(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A manifest trusting ProductPage alone, and its entry."""
    (tmp_path / "page.graphql").write_text(PRODUCT_PAGE.query)
    path = tmp_path / "trusted-documents.json"
    assert main(["documents", "add", "--manifest", str(path), str(tmp_path / "page.graphql")]) == 0
    (page,) = orjson.loads(path.read_bytes())["operations"]
    return path, page


async def test_under_the_safelist_a_batch_runs_only_when_every_entry_is_trusted(
    manifest: tuple[Path, dict[str, str]],
) -> None:
    path, page = manifest
    by_id = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": page["id"]}}}
    settings = {**ON, "BFF_TRUSTED_DOCUMENTS": str(path), "BFF_DOCUMENTS_MODE": "safelist"}
    async with running_bff(settings) as bff:
        trusted = await _post(
            bff,
            [
                {"query": page["body"], "variables": {"id": "p1"}},
                {**by_id, "variables": {"id": "p2"}},
            ],
        )
        bff.reset_calls()
        mixed = await _post(
            bff, [{**by_id, "variables": {"id": "p1"}}, {"query": '{ product(id: "p2") { id } }'}]
        )
        calls = bff.calls()

    assert trusted.status_code == 200
    assert [answer["data"]["product"]["id"] for answer in trusted.json()] == ["p1", "p2"]
    assert mixed.status_code == 400
    assert _code(mixed.json()) == "PERSISTED_QUERY_REQUIRED"
    assert calls == 0, "nothing of a refused batch runs"


@pytest.mark.e2e
async def test_apollo_batch_http_link_gets_what_separate_requests_get() -> None:
    node = shutil.which("node")
    assert node, "Node.js is needed to run Apollo Client (scripts/system-tools installs it)"
    assert (CLIENTS / "node_modules" / "@apollo" / "client").is_dir(), (
        "tests/js has no packages: `npm ci --prefix tests/js` (`make pytest` runs it)"
    )
    async with subscribable_bff(ON) as stack:
        separate = [(await _post(stack.http, _page(product_id))).json() for product_id in PRODUCTS]
        stack.http.reset_calls()
        await stack.http.query(THREE_PRODUCTS, dict(zip("abc", PRODUCTS, strict=True)))
        one_operation_calls = stack.http.calls()
        stack.http.reset_calls()
        client = await asyncio.create_subprocess_exec(
            node,
            str(CLIENTS / "batch.mjs"),
            f"{stack.bff.url}/graphql",
            PRODUCT_PAGE.query,
            *(orjson.dumps({"id": product_id}).decode() for product_id in PRODUCTS),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await client.communicate()
        batched_calls = stack.http.calls()

    assert client.returncode == 0, err.decode()
    answer = orjson.loads(out)
    # One HTTP request carrying the three operations.
    assert [len(request) for request in answer["requests"]] == [len(PRODUCTS)]
    assert [result["error"] for result in answer["results"]] == [None] * len(PRODUCTS)
    # Apollo Client asks for `__typename` too; the rest is what separate requests get.
    assert [_untyped(result["data"]) for result in answer["results"]] == [
        page["data"] for page in separate
    ]
    assert batched_calls == one_operation_calls


def _untyped(value: object) -> object:
    """`value` without the `__typename` fields a client adds."""
    if isinstance(value, dict):
        return {key: _untyped(item) for key, item in value.items() if key != "__typename"}
    if isinstance(value, list):
        return [_untyped(item) for item in value]
    return value


async def test_each_entry_is_reported_as_its_own_operation_with_the_batch_size(
    caplog: pytest.LogCaptureFixture,
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    entries = [_page("p1"), {"query": "{ nothing }"}, _page("p2")]
    with caplog.at_level(logging.INFO, logger="bff.operation"):
        async with running_bff(ON, tracer_provider=provider) as bff:
            await _post(bff, entries)
    provider.shutdown()

    finished = exporter.get_finished_spans()
    (server,) = [span for span in finished if span.name == "POST /graphql"]
    operations = sorted(
        (span for span in finished if span.attributes and "bff.batch.index" in span.attributes),
        key=lambda span: str(span.attributes["bff.batch.index"] if span.attributes else ""),
    )
    assert [span.name for span in operations] == [
        "query ProductPage",
        "graphql",
        "query ProductPage",
    ]
    for index, span in enumerate(operations):
        assert span.parent is not None
        assert span.parent.span_id == server.context.span_id
        assert span.attributes is not None
        assert (span.attributes["bff.batch.size"], span.attributes["bff.batch.index"]) == (3, index)
    lines = [record for record in caplog.records if record.name == "bff.operation"]
    fields = [record.fields for record in lines]  # type: ignore[attr-defined]
    assert sorted(str(entry["outcome"]) for entry in fields) == ["error", "ok", "ok"]
    assert {entry["batch_size"] for entry in fields} == {3}


async def test_a_batch_counts_each_entry_against_the_in_flight_cap() -> None:
    async with running_bff({**ON, "BFF_MAX_IN_FLIGHT": "2"}) as bff:
        fits = await _post(bff, [_page("p1"), _page("p2")])
        over = await _post(bff, [_page(product_id) for product_id in PRODUCTS])

    assert fits.status_code == 200
    assert over.status_code == 503
    assert over.headers["retry-after"] == "1"
    assert _code(over.json()) == "SERVICE_OVERLOADED"


async def test_each_entry_is_charged_on_its_own_and_refused_in_its_slot_when_over_budget() -> None:
    cost = await _cost_of()
    # Each entry pays for preparing the new document first, then tops up to its cost:
    # the bucket holds two entries' costs and the third's preparation.
    capacity = 2 * cost + preparation_units(PRODUCT_PAGE.query)
    assert capacity < 3 * cost
    limited = {
        **ON,
        "BFF_RATE_LIMIT": "true",
        "BFF_RATE_LIMIT_CAPACITY": str(capacity),
        "BFF_RATE_LIMIT_REFILL_PER_S": "1",
    }
    async with running_bff(limited) as bff:
        reply = await bff.http.post(
            "/graphql",
            json=[_page(product_id) for product_id in PRODUCTS],
            headers={**MODERN, **signed_in("u4")},
        )

    assert reply.status_code == 200
    answers = reply.json()
    # Two entries fit the bucket; the third, paying its own cost, does not.
    assert sorted("errors" in answer for answer in answers) == [False, False, True]
    (refused,) = [answer for answer in answers if "errors" in answer]
    assert _code(refused) == "RATE_LIMITED"
    assert "data" not in refused


async def test_stale_data_read_through_shared_loaders_marks_every_entry_degraded() -> None:
    demo = build_services(ALL_NAMES)
    clock = Clock()
    pages = [_page("p1"), _page("p2")]
    env = {"BFF_BATCH_MAX": "5", "BFF_RESPONSE_CACHE": "false"}
    async with running_bff(env, demo=demo, clock=clock) as bff:
        fresh = await _post(bff, pages)
        clock.now += 30  # stock is fresh for 5 s: now 25 s past its expiry
        demo["inventory"].faults.error_rate = 1.0
        stale = await _post(bff, pages)
        metrics = await bff.metrics()

    assert stale.status_code == 200
    for before, after in zip(fresh.json(), stale.json(), strict=True):
        assert "errors" not in after
        assert after["data"] == before["data"]
        assert after["extensions"]["degraded"] == [
            {
                "path": ["product", "stock"],
                "service": "inventory",
                "ageSeconds": 30,
                "reason": "DOWNSTREAM_UNAVAILABLE",
            }
        ]
    # One read of both stocks, counted once.
    served = sample(
        metrics, "bff_stale_served_total", service="inventory", reason="DOWNSTREAM_UNAVAILABLE"
    )
    assert served == 1
