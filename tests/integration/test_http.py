"""GraphQL over HTTP: every malformed request gets a GraphQL error body, never plain text."""

from __future__ import annotations

import pytest

from tests.harness import Harness


async def test_get_runs_queries(bff: Harness) -> None:
    response = await bff.http.get(
        "/graphql",
        params={
            "query": "query P($id: ID!) { product(id: $id) { id } }",
            "variables": '{"id":"p1"}',
        },
    )

    assert response.status_code == 200
    assert response.json() == {"data": {"product": {"id": "p1"}}}


async def test_get_refuses_mutations(bff: Harness) -> None:
    response = await bff.http.get(
        "/graphql",
        params={
            "query": 'mutation { addReview(input: {productId: "p1", rating: 5, body: "x"}) { id } }'
        },
    )

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code", "message"),
    [
        (b"{not json", "application/json", 400, "BAD_REQUEST", "not valid JSON"),
        (b"", "application/json", 400, "BAD_REQUEST", "body is empty"),
        (b"3", "application/json", 400, "BAD_REQUEST", "must be a JSON object"),
        (b"[]", "application/json", 400, "BAD_REQUEST", "turn batching on with BFF_BATCH_MAX"),
        (b'{"query": 3}', "application/json", 400, "BAD_REQUEST", "`query` must be a string"),
        (b'{"variables": {}}', "application/json", 400, "BAD_REQUEST", "no `query` string"),
        (
            b'{"query": "{ __typename }", "extensions": "x"}',
            "application/json",
            400,
            "BAD_REQUEST",
            "`extensions` must be a JSON object",
        ),
        (
            b'{"query": "{ __typename }", "variables": []}',
            "application/json",
            400,
            "BAD_REQUEST",
            "`variables` must be a JSON object",
        ),
        (
            b'{"query": "{ __typename }", "operationName": 1}',
            "application/json",
            400,
            "BAD_REQUEST",
            "`operationName` must be a string",
        ),
        (b"query { __typename }", "text/plain", 415, "BAD_REQUEST", "Send the request as JSON"),
        (
            b'{"query": "{ product(id: "}',
            "application/json",
            400,
            "GRAPHQL_PARSE_FAILED",
            "Syntax Error",
        ),
        (
            b'{"query": "{ product { id } }"}',
            "application/json",
            400,
            "GRAPHQL_VALIDATION_FAILED",
            "Argument 'Query.product(id:)' of type 'ID!' is required",
        ),
        (
            b'{"query": "query A { __typename }", "operationName": "B"}',
            "application/json",
            400,
            "OPERATION_RESOLUTION_FAILURE",
            "Unknown operation named 'B'",
        ),
        (
            b'{"query": "query A { __typename } query B { __typename }"}',
            "application/json",
            400,
            "OPERATION_RESOLUTION_FAILURE",
            "name one in `operationName`",
        ),
        (
            b'{"query": "query P($id: ID!) { product(id: $id) { id } }", "variables": {"id": []}}',
            "application/json",
            400,
            "BAD_USER_INPUT",
            "Variable '$id'",
        ),
        (
            b'{"query": "query P($id: ID!) { product(id: $id) { id } }"}',
            "application/json",
            400,
            "BAD_USER_INPUT",
            "Variable '$id'",
        ),
    ],
)
async def test_malformed_requests_get_coded_errors(
    bff: Harness, content: bytes, content_type: str, status: int, code: str, message: str
) -> None:
    """Status codes as GraphQL over HTTP gives them for each media type the caller accepts."""
    modern = await bff.http.post(
        "/graphql",
        content=content,
        headers={"content-type": content_type, "accept": "application/graphql-response+json"},
    )
    legacy = await bff.http.post(
        "/graphql", content=content, headers={"content-type": content_type}
    )

    assert modern.status_code == status
    assert modern.headers["content-type"] == "application/graphql-response+json; charset=utf-8"
    # Legacy clients read errors from 200 responses only; HTTP-level refusals keep their
    # status, and so does a body that is not JSON at all (GraphQL over HTTP, for both types)
    # and a batch refused whole (its body is not the array a batching client reads).
    not_graphql = status != 400 or message in (
        "not valid JSON",
        "turn batching on with BFF_BATCH_MAX",
    )
    assert legacy.status_code == (status if not_graphql else 200)
    assert legacy.headers["content-type"] == "application/json; charset=utf-8"
    for response in (modern, legacy):
        body = response.json()
        assert "data" not in body
        error = body["errors"][0]
        assert error["extensions"]["code"] == code
        assert message in error["message"]
    assert bff.calls() == 0


async def test_unsupported_methods_get_a_graphql_405(bff: Harness) -> None:
    response = await bff.http.put("/graphql", json={"query": "{ __typename }"})

    assert response.status_code == 405
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


async def test_request_id_is_echoed_or_made_and_forwarded(bff: Harness) -> None:
    given = await bff.http.post(
        "/graphql", json={"query": '{ user(id: "u1") { id } }'}, headers={"x-request-id": "abc-123"}
    )
    made = await bff.http.post("/graphql", json={"query": "{ __typename }"})
    hostile = await bff.http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"x-request-id": "a b\tc"}
    )

    assert given.headers["x-request-id"] == "abc-123"
    assert bff.demo["accounts"].stats.recent()[0].headers["x-request-id"] == "abc-123"
    assert len(made.headers["x-request-id"]) == 32
    assert hostile.headers["x-request-id"] != "a b\tc"
