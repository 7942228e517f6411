"""Operation limits: abusive documents are refused before anything runs."""

from __future__ import annotations

import pytest

from bff.examples import REFERENCE_OPERATIONS
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
