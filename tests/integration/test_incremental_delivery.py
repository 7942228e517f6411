"""`@defer` and `@stream` over HTTP: multipart/mixed to clients that ask, one JSON body otherwise.

The wire format is Apollo Router's (deferSpec=20220824); see
docs/incremental-delivery.md. Apollo Client reading it is `tests/js/defer.mjs`.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bff.cli.main import main as cli
from bff.contract.examples import PRODUCT_PAGE, PRODUCT_PAGE_DEFERRED
from demo.services import build_services
from tests.harness import Harness, running_bff

MULTIPART = {"accept": "multipart/mixed;deferSpec=20220824,application/json"}
JSON = {"accept": "application/json"}


def payloads(response: httpx.Response) -> list[dict[str, Any]]:
    """The JSON payloads of a multipart/mixed body, as Apollo Client splits them."""
    assert response.headers["content-type"] == 'multipart/mixed; boundary="-"; deferSpec=20220824'
    body = response.text
    assert body.startswith("\r\n---\r\n")
    assert body.endswith("\r\n-----\r\n")
    found = []
    for chunk in body[len("\r\n---") : -len("\r\n-----\r\n")].split("\r\n---"):
        headers, _, json = chunk.partition("\r\n\r\n")
        assert headers.strip().lower() == "content-type: application/json; charset=utf-8"
        found.append(orjson.loads(json))
    return found


async def post(
    bff: Harness, query: str, variables: dict[str, object], headers: dict[str, str]
) -> httpx.Response:
    return await bff.http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )


def assembled(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The payloads merged as Apollo Client's Defer20220824Handler merges them."""
    data = parts[0]["data"]
    for payload in parts[1:]:
        for part in payload.get("incremental", []):
            *parent_path, last = part["path"]
            parent = data
            for key in parent_path:
                parent = parent[key]
            if "items" in part:
                parent.extend(part["items"])
            else:
                parent[last].update(part["data"])
    return dict(data)


async def test_a_deferred_product_page_comes_in_parts_that_add_up_to_the_whole(
    bff: Harness,
) -> None:
    response = await post(bff, PRODUCT_PAGE_DEFERRED.query, {"id": "p1"}, MULTIPART)
    whole = await bff.run(PRODUCT_PAGE, id="p1")

    assert response.status_code == 200
    parts = payloads(response)
    first = parts[0]
    assert first["hasNext"] is True
    assert set(first["data"]["product"]) == {"id", "name", "price", "stock", "category"}
    assert [payload["hasNext"] for payload in parts[1:]][-1] is False
    labels = {part["label"] for payload in parts[1:] for part in payload.get("incremental", [])}
    assert labels == {"rating", "reviews"}
    for payload in parts[1:]:
        for part in payload.get("incremental", []):
            assert part["path"] == ["product"]
    assert assembled(parts) == whole.data
    # The operation's cache policy, as the same page undeferred is cached.
    assert response.headers["cache-control"] == whole.headers["cache-control"]
    assert response.headers["vary"].startswith("Accept")


TWO_PRODUCTS = """query TwoProducts($a: ID!, $b: ID!) {
  a: product(id: $a) { id ...Later @defer(label: "a") }
  b: product(id: $b) { id ...Later @defer(label: "b") }
}
fragment Later on Product { rating { average } reviews(first: 2) { author { name } } }"""


@pytest.mark.parametrize("planned", [True, False], ids=["planned", "graphql-core"])
@pytest.mark.parametrize(
    ("deferred", "variables"),
    [
        (PRODUCT_PAGE_DEFERRED.query, {"id": "p1"}),
        (TWO_PRODUCTS, {"a": "p1", "b": "p2"}),  # two deferred parts, their loads in one batch
    ],
    ids=["ProductPageDeferred", "two deferred products"],
)
async def test_the_planned_executor_serves_deferred_documents_batching_across_their_parts(
    planned: bool, deferred: str, variables: dict[str, object]
) -> None:
    env = {"BFF_PLANNED_EXECUTION": str(planned).lower()}
    undeferred = deferred.replace(' @defer(label: "a")', "").replace(' @defer(label: "b")', "")
    undeferred = undeferred.replace(' ... @defer(label: "rating") {', " ... {")
    undeferred = undeferred.replace(' ... @defer(label: "reviews") {', " ... {")
    assert "@defer" not in undeferred
    async with running_bff(env) as bff:
        whole = await bff.query(undeferred, variables)
        calls = bff.calls_by_route()
        assert bff.operations.planned_incremental == 0
    async with running_bff(env) as bff:
        response = await post(bff, deferred, variables, MULTIPART)
        parts = payloads(response)
        deferred_calls = bff.calls_by_route()
        served_by_plan = bff.operations.planned_incremental

    assert whole.errors == []
    assert len(parts) > 1
    assert assembled(parts) == whole.data
    assert served_by_plan == (1 if planned else 0)
    # The deferred parts' loads join the initial payload's batches, and each other's.
    assert deferred_calls == calls
    assert calls["accounts GET /users"] == 1  # the reviews' authors, in one batch
    assert calls["reviews GET /reviews/summary"] == 1


async def test_a_client_that_did_not_ask_for_multipart_gets_one_merged_body(
    bff: Harness,
) -> None:
    response = await post(bff, PRODUCT_PAGE_DEFERRED.query, {"id": "p2"}, JSON)
    whole = await bff.run(PRODUCT_PAGE, id="p2")
    # The planned executor's ordinary plan answered it, `@defer` inline.
    assert bff.operations.planned_incremental == 0

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert "hasNext" not in body
    assert body == {"data": whole.data}
    assert response.headers["cache-control"] == whole.headers["cache-control"]


@pytest.mark.parametrize(
    "accept",
    [
        "multipart/mixed",  # GraphiQL's fetcher sends no deferSpec
        "multipart/mixed; deferSpec=20220824",
        'multipart/mixed;boundary="graphql";deferSpec=20220824, application/json;q=0.9',
    ],
)
async def test_multipart_is_chosen_by_the_accept_header(bff: Harness, accept: str) -> None:
    response = await post(bff, PRODUCT_PAGE_DEFERRED.query, {"id": "p1"}, {"accept": accept})

    assert response.status_code == 200
    assert payloads(response)[-1]["hasNext"] is False


async def test_another_defer_spec_is_not_multipart(bff: Harness) -> None:
    response = await post(
        bff,
        PRODUCT_PAGE_DEFERRED.query,
        {"id": "p1"},
        {"accept": "multipart/mixed;deferSpec=20990101, application/json"},
    )
    assert response.headers["content-type"].startswith("application/json")
    only = await post(
        bff, PRODUCT_PAGE_DEFERRED.query, {"id": "p1"}, {"accept": "multipart/mixed;deferSpec=2"}
    )
    assert only.status_code == 406
    assert only.json()["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"


async def test_a_document_without_defer_is_plain_json_even_to_a_multipart_client(
    bff: Harness,
) -> None:
    response = await post(bff, PRODUCT_PAGE.query, {"id": "p1"}, MULTIPART)
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["data"]["product"]["name"]


async def test_defer_if_false_is_answered_whole(bff: Harness) -> None:
    query = """query ($d: Boolean!) { product(id: "p1") { id ... @defer(if: $d) { name } } }"""
    response = await post(bff, query, {"d": False}, MULTIPART)

    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["data"]["product"]["name"]


async def test_a_failing_service_in_a_deferred_part_errs_in_that_payload() -> None:
    demo = build_services()
    demo["reviews"].faults.error_rate = 1.0
    env = {"BFF_DOWNSTREAM_CACHE": "false", "BFF_RESPONSE_CACHE": "false"}
    async with running_bff(env, demo=demo) as bff:
        response = await post(bff, PRODUCT_PAGE_DEFERRED.query, {"id": "p3"}, MULTIPART)

    parts = payloads(response)
    assert "errors" not in parts[0]
    failed = [
        part
        for payload in parts[1:]
        for part in payload.get("incremental", [])
        if part.get("errors")
    ]
    # The rating is the reviews service's too: both parts fail, each in its own payload entry.
    assert sorted(part["label"] for part in failed) == ["rating", "reviews"]
    for part in failed:
        [error] = part["errors"]
        assert error["path"] == ["product", part["label"]]
        assert error["extensions"]["code"] == "DOWNSTREAM_UNAVAILABLE"
        assert part["data"] == {part["label"]: None}


async def test_the_budget_covers_the_deferred_parts_which_end_with_a_coded_error() -> None:
    demo = build_services()
    demo["reviews"].faults.hang_rate = 1.0
    env = {
        "BFF_OPERATION_BUDGET_MS": "400",
        "BFF_DOWNSTREAM_CACHE": "false",
        "BFF_RESPONSE_CACHE": "false",
    }
    async with running_bff(env, demo=demo) as bff:
        # The hang alone would last 300 s; the guard only stops a broken test.
        async with asyncio.timeout(10):
            response = await post(bff, PRODUCT_PAGE_DEFERRED.query, {"id": "p4"}, MULTIPART)

    parts = payloads(response)
    assert parts[0]["data"]["product"]["name"]
    assert parts[-1]["hasNext"] is False
    errors = [
        error
        for payload in parts[1:]
        for part in payload.get("incremental", [])
        for error in part.get("errors", [])
    ]
    assert errors
    assert {error["extensions"]["code"] for error in errors} == {"DOWNSTREAM_TIMEOUT"}
    # Each at the path of a part the budget cut short, never in the initial payload.
    assert "errors" not in parts[0]
    assert all(error["path"][0] == "product" for error in errors)


async def test_stream_on_a_list_sends_the_first_items_then_the_rest(bff: Harness) -> None:
    query = """{ product(id: "p1") { reviews(first: 5) @stream(initialCount: 2) { rating } } }"""
    response = await post(bff, query, {}, MULTIPART)
    whole = await bff.query("""{ product(id: "p1") { reviews(first: 5) { rating } } }""")

    parts = payloads(response)
    assert len(parts[0]["data"]["product"]["reviews"]) == 2
    streamed = [part for payload in parts[1:] for part in payload.get("incremental", [])]
    assert streamed[0]["path"] == ["product", "reviews", 2]
    assert assembled(parts) == whole.data


async def test_defer_inside_list_items_answers_at_each_index(bff: Harness) -> None:
    query = """{ products(first: 3) { nodes { id ... @defer { name } } } }"""
    response = await post(bff, query, {}, MULTIPART)
    whole = await bff.query("""{ products(first: 3) { nodes { id name } } }""")

    parts = payloads(response)
    paths = sorted(part["path"] for payload in parts[1:] for part in payload.get("incremental", []))
    assert paths == [["products", "nodes", index] for index in range(3)]
    assert assembled(parts) == whole.data


async def test_a_private_operation_in_parts_is_private(bff: Harness) -> None:
    query = """{ me { id ... @defer { name } } }"""
    from tests.harness import signed_in

    response = await post(bff, query, {}, {**MULTIPART, **signed_in("u1")})
    parts = payloads(response)
    assert parts[0]["data"]["me"]["id"] == "u1"
    assert "public" not in response.headers["cache-control"]
    assert "private" in response.headers["cache-control"] or (
        response.headers["cache-control"] == "no-store"
    )


async def test_an_incremental_document_is_never_kept_in_the_response_cache(
    bff: Harness,
) -> None:
    for _ in range(2):
        response = await post(bff, PRODUCT_PAGE_DEFERRED.query, {"id": "p5"}, JSON)
        assert "age" not in response.headers
        multipart = await post(bff, PRODUCT_PAGE_DEFERRED.query, {"id": "p5"}, MULTIPART)
        assert "age" not in multipart.headers
        assert len(payloads(multipart)) > 1


async def test_operation_limits_count_deferred_fields() -> None:
    async with running_bff({"BFF_MAX_DEPTH": "3"}) as bff:
        shallow = await post(
            bff, """{ product(id: "p1") { id ... @defer { name } } }""", {}, MULTIPART
        )
        deep = await post(
            bff,
            """{ product(id: "p1") { id ... @defer { reviews(first: 1) { author { name } } } } }""",
            {},
            MULTIPART,
        )

    assert shallow.status_code == 200
    assert deep.headers["content-type"].startswith("application/json")
    assert deep.json()["errors"][0]["extensions"]["code"] == "OPERATION_LIMIT_EXCEEDED"


async def test_a_persisted_deferred_query_runs_by_its_hash(bff: Harness) -> None:
    query = PRODUCT_PAGE_DEFERRED.query + f"# {os.urandom(6).hex()}\n"
    sha256 = hashlib.sha256(query.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256}}
    registered = await bff.http.post(
        "/graphql",
        json={"query": query, "variables": {"id": "p1"}, "extensions": extensions},
        headers=MULTIPART,
    )
    by_hash = await bff.http.post(
        "/graphql", json={"variables": {"id": "p1"}, "extensions": extensions}, headers=MULTIPART
    )

    assert assembled(payloads(registered)) == assembled(payloads(by_hash))
    assert len(payloads(by_hash)) > 1


async def test_each_deferred_part_has_its_span_under_the_operation() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    try:
        async with running_bff(tracer_provider=provider) as bff:
            response = await post(bff, PRODUCT_PAGE_DEFERRED.query, {"id": "p1"}, MULTIPART)
            assert payloads(response)[-1]["hasNext"] is False
        finished = exporter.get_finished_spans()
    finally:
        provider.shutdown()

    (operation,) = [span for span in finished if span.name == "query ProductPageDeferred"]
    deferred = [span for span in finished if span.name == "graphql.deferred"]
    assert deferred
    assert all(
        span.parent and span.parent.span_id == operation.context.span_id for span in deferred
    )
    labels = {span.attributes["graphql.defer.label"] for span in deferred if span.attributes}
    assert labels == {"rating", "reviews"}
    # The operation ends with its last part.
    assert operation.end_time is not None
    assert all(
        span.end_time is not None and span.end_time <= operation.end_time for span in deferred
    )


async def test_the_debug_timeline_says_when_each_part_went_out() -> None:
    async with running_bff({"BFF_DEBUG": "true"}) as bff:
        response = await post(
            bff, PRODUCT_PAGE_DEFERRED.query, {"id": "p1"}, {**MULTIPART, "x-bff-debug": "1"}
        )

    parts = payloads(response)
    first = parts[0]["extensions"]["debug"]["parts"]
    assert [entry["path"] for entry in first] == [[]]
    last = parts[-1]["extensions"]["debug"]
    sent = last["parts"]
    assert {entry.get("label") for entry in sent[1:]} == {"rating", "reviews"}
    times = [entry["sentMs"] for entry in sent]
    assert times == sorted(times)
    assert any(call["service"] == "reviews" for call in last["downstream"])


async def test_a_trusted_deferred_document_runs_in_parts_under_safelist(tmp_path: Path) -> None:
    (tmp_path / "deferred.graphql").write_text(PRODUCT_PAGE_DEFERRED.query)
    manifest = tmp_path / "trusted-documents.json"
    added = ["documents", "add", "--manifest", str(manifest), str(tmp_path / "deferred.graphql")]
    assert cli(added) == 0
    [entry] = orjson.loads(manifest.read_bytes())["operations"]
    settings = {"BFF_TRUSTED_DOCUMENTS": str(manifest), "BFF_DOCUMENTS_MODE": "safelist"}
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": entry["id"]}}
    async with running_bff(settings) as bff:
        response = await bff.http.post(
            "/graphql", json={"variables": {"id": "p1"}, "extensions": persisted}, headers=MULTIPART
        )
        whole = await bff.http.post(
            "/graphql", json={"variables": {"id": "p1"}, "extensions": persisted}, headers=JSON
        )

    parts = payloads(response)
    assert len(parts) > 1
    assert assembled(parts) == whole.json()["data"]
