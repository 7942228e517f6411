"""Operation limits: abusive documents are refused before anything runs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bff.contract.examples import REFERENCE_OPERATIONS
from tests.harness import Harness, running_bff

ALIASES = "{ " + " ".join(f"a{n}: __typename" for n in range(1000)) + " }"
DEEP = '{ product(id: "p1") { ' + "reviews { product { " * 25 + "id" + " } }" * 25 + " } }"
ROOTS = "{ " + " ".join(f'f{n}: product(id: "p{n}") {{ id }}' for n in range(25)) + " }"
COSTLY = """{ products(first: 100) { edges { node {
  reviews(first: 50) { author { reviews(first: 50) { rating } } } } } } }"""
TOKENS = "{ " + "__typename " * 100_000 + "}"


@pytest.mark.parametrize(
    ("document", "limit", "measured", "maximum"),
    [
        (ALIASES, "alias count", 31, 30),
        (DEEP, "depth", 13, 12),
        (ROOTS, "root field count", 25, 20),
        (COSTLY, "estimated cost", None, 20_000),
    ],
    ids=["aliases", "depth", "root fields", "cost"],
)
async def test_abusive_documents_are_refused_without_running(
    bff: Harness, document: str, limit: str, measured: int | None, maximum: int
) -> None:
    reply = await bff.query(document)

    assert reply.status == 400
    (error,) = reply.errors
    extensions = error["extensions"]
    assert extensions["code"] == "OPERATION_LIMIT_EXCEEDED"
    assert extensions["limit"] == limit
    assert extensions["maximum"] == maximum
    assert extensions["measured"] > maximum
    if measured is not None:
        assert extensions["measured"] == measured
    assert (
        f"The operation's {limit} is at least {extensions['measured']}, over the limit"
        in error["message"]
    )
    assert "(set by BFF_MAX_" in error["message"]
    assert bff.calls() == 0


async def test_a_huge_document_is_refused_while_parsing() -> None:
    async with running_bff({"BFF_MAX_BODY_BYTES": "2000000"}) as bff:
        reply = await bff.query(TOKENS)

    assert reply.status == 400
    assert reply.errors[0]["extensions"] == {
        "code": "OPERATION_LIMIT_EXCEEDED",
        "limit": "tokens",
        "maximum": 5_000,
    }
    assert "BFF_MAX_TOKENS" in reply.errors[0]["message"]
    assert bff.calls() == 0


async def test_an_oversized_body_is_refused_unread(bff: Harness) -> None:
    body = b'{"query": "' + b" " * 10_000_000 + b'{ __typename }"}'
    response = await bff.http.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    async with running_bff({"BFF_MAX_BODY_BYTES": "1000"}) as small:
        query_string = await small.http.get(
            "/graphql", params={"query": "{ __typename }" + " " * 2_000}
        )

    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"
    assert "BFF_MAX_BODY_BYTES" in response.json()["errors"][0]["message"]
    assert query_string.status_code == 413
    assert bff.calls() == 0


async def test_limits_are_settings() -> None:
    async with running_bff({"BFF_MAX_DEPTH": "3"}) as bff:
        reply = await bff.run(REFERENCE_OPERATIONS[0])

    assert reply.errors[0]["message"] == (
        "The operation's depth is at least 4, over the limit of 3 (set by BFF_MAX_DEPTH)."
    )


async def test_the_reference_operations_pass_easily_and_the_server_stays_up(bff: Harness) -> None:
    for document in (ALIASES, DEEP, ROOTS, COSTLY):
        assert (await bff.query(document)).status == 400
    for example in REFERENCE_OPERATIONS:
        reply = await bff.run(example)
        assert reply.status == 200, example.name
        assert "errors" not in reply.body, example.name


# Each document measures exactly `measure` on its limit and far below every other one.
# Run with the limit set to `measure` it must pass; set one lower, the same document is
# one over the limit and must be refused. A limit that refuses at its maximum (`>=`)
# or lets max + 1 through fails one side.
AT_THE_BOUNDARY = [
    ("BFF_MAX_DEPTH", "depth", 4, '{ product(id: "p1") { category { parent { id } } } }'),
    ("BFF_MAX_ALIASES", "alias count", 3, '{ product(id: "p1") { a: id b: name c: sku } }'),
    (
        "BFF_MAX_ROOT_FIELDS",
        "root field count",
        3,
        '{ product(id: "p1") { id } category(id: "c1") { id } me { id } }',
    ),
    # products 1, then edges, node and id once for each of the 2 products.
    ("BFF_MAX_COST", "estimated cost", 7, "{ products(first: 2) { edges { node { id } } } }"),
    # A comma is not a token: { product ( id : "p1" ) { id name } } is 12.
    ("BFF_MAX_TOKENS", "tokens", 12, '{ product(id: "p1") { id, name } }'),
    # Comments are counted apart, against the same setting: 12 of them before 11 tokens.
    ("BFF_MAX_TOKENS", "comments", 12, "#\n" * 12 + '{ product(id: "p1") { id } }'),
]
BOUNDARY_IDS = [limit for _, limit, _, _ in AT_THE_BOUNDARY]


@pytest.mark.parametrize(
    ("setting", "limit", "measure", "document"), AT_THE_BOUNDARY, ids=BOUNDARY_IDS
)
async def test_an_operation_exactly_at_a_limit_runs(
    setting: str, limit: str, measure: int, document: str
) -> None:
    async with running_bff({setting: str(measure)}) as bff:
        reply = await bff.query(document)

    assert reply.status == 200
    assert "errors" not in reply.body
    assert bff.calls() > 0


@pytest.mark.parametrize(
    ("setting", "limit", "measure", "document"), AT_THE_BOUNDARY, ids=BOUNDARY_IDS
)
async def test_an_operation_one_over_a_limit_is_refused(
    setting: str, limit: str, measure: int, document: str
) -> None:
    async with running_bff({setting: str(measure - 1)}) as bff:
        reply = await bff.query(document)

    assert reply.status == 400
    (error,) = reply.errors
    assert error["extensions"]["code"] == "OPERATION_LIMIT_EXCEEDED"
    assert error["extensions"]["limit"] == limit
    assert error["extensions"]["maximum"] == measure - 1
    # Measurement may stop at the first unit over the limit: `measured` is at least that.
    assert error["extensions"].get("measured", measure) >= measure
    assert bff.calls() == 0


MAX_BODY_BYTES = 200


def _body_of(size: int) -> bytes:
    """A JSON request body of exactly `size` bytes, padded with whitespace."""
    start, end = b'{"query": "{ __typename }"', b"}"
    return start + b" " * (size - len(start) - len(end)) + end


def _query_string_of(size: int) -> str:
    """A GET query string of exactly `size` bytes, the document padded with spaces."""
    start = "query=%7B+__typename+%7D"
    return start + "+" * (size - len(start))


async def _streamed(body: bytes) -> AsyncIterator[bytes]:
    # Sent in chunks, without a Content-Length: the size is only known once read.
    for offset in range(0, len(body), 64):
        yield body[offset : offset + 64]


async def _send(bff: Harness, how: str, size: int) -> httpx.Response:
    headers = {"content-type": "application/json", "accept": "application/graphql-response+json"}
    if how == "declared":
        return await bff.http.post("/graphql", content=_body_of(size), headers=headers)
    if how == "streamed":
        return await bff.http.post("/graphql", content=_streamed(_body_of(size)), headers=headers)
    response = await bff.http.get(f"/graphql?{_query_string_of(size)}", headers=headers)
    assert len(response.request.url.query) == size
    return response


SENT_AS = ["declared", "streamed", "query string"]


@pytest.mark.parametrize("how", SENT_AS)
async def test_a_request_exactly_at_the_size_limit_runs(how: str) -> None:
    async with running_bff({"BFF_MAX_BODY_BYTES": str(MAX_BODY_BYTES)}) as bff:
        response = await _send(bff, how, MAX_BODY_BYTES)

    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("how", SENT_AS)
async def test_a_request_one_byte_over_the_size_limit_is_refused(how: str) -> None:
    async with running_bff({"BFF_MAX_BODY_BYTES": str(MAX_BODY_BYTES)}) as bff:
        response = await _send(bff, how, MAX_BODY_BYTES + 1)

    assert response.status_code == 413
    (error,) = response.json()["errors"]
    assert error["extensions"] == {
        "code": "REQUEST_TOO_LARGE",
        "limit": "body bytes",
        "maximum": MAX_BODY_BYTES,
    }
