"""The production profile: introspection off, errors masked, CSRF and CORS defences."""

from __future__ import annotations

import logging

import pytest

import resolvers.products
from tests.harness import running_bff

PRODUCTION = {"BFF_PROFILE": "production"}


@pytest.mark.parametrize(
    "document", ["{ __schema { types { name } } }", '{ __type(name: "Product") { name } }']
)
async def test_introspection_is_off_unless_enabled(document: str) -> None:
    async with running_bff(PRODUCTION) as bff:
        refused = await bff.query(document)
        typename = await bff.query("{ __typename }")
    async with running_bff({**PRODUCTION, "BFF_INTROSPECTION": "true"}) as bff:
        enabled = await bff.query(document)

    assert refused.status == 400
    assert set(refused.codes()) == {"GRAPHQL_VALIDATION_FAILED"}
    assert "introspection" in refused.errors[0]["message"].lower()
    assert typename.data == {"__typename": "Query"}
    assert "errors" not in enabled.body


async def test_unexpected_errors_are_masked_and_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object) -> object:
        raise RuntimeError("secret internal detail")

    # Whichever form the executor calls: per product, or per level.
    monkeypatch.setattr(resolvers.products, "get_stock", broken)
    monkeypatch.setattr(resolvers.products, "get_stocks", broken)
    with caplog.at_level(logging.ERROR, logger="bff.execution.errors"):
        async with running_bff(PRODUCTION) as bff:
            reply = await bff.query(
                '{ product(id: "p1") { name stock { available } } }',
                headers={"x-request-id": "req-42"},
            )

    assert reply.data["product"]["name"]
    assert reply.error_at("product", "stock") == {
        "message": "Internal server error",
        "locations": [{"line": 1, "column": 28}],
        "path": ["product", "stock"],
        "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-42"},
    }
    assert "secret internal detail" not in str(reply.body)
    assert any("req-42" in record.getMessage() for record in caplog.records)
    assert any("secret internal detail" in str(record.exc_info) for record in caplog.records)


async def test_requests_a_browser_could_forge_cross_site_are_refused() -> None:
    async with running_bff(PRODUCTION) as bff:
        plain_get = await bff.http.get("/graphql", params={"query": "{ __typename }"})
        preflighted_get = await bff.http.get(
            "/graphql",
            params={"query": "{ __typename }"},
            headers={"Apollo-Require-Preflight": "true"},
        )
        form_post = await bff.http.post(
            "/graphql",
            content=b"query={ __typename }",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        json_post = await bff.http.post("/graphql", json={"query": "{ __typename }"})

    assert plain_get.status_code == 400
    assert "cross-site request forgery" in plain_get.json()["errors"][0]["message"]
    assert preflighted_get.json() == {"data": {"__typename": "Query"}}
    assert form_post.status_code == 400
    assert json_post.json() == {"data": {"__typename": "Query"}}


async def test_cors_answers_only_allowed_origins() -> None:
    env = {**PRODUCTION, "BFF_CORS_ORIGINS": "https://app.example.com"}
    async with running_bff(env) as bff:
        allowed = await bff.http.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"Origin": "https://app.example.com"},
        )
        other = await bff.http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"Origin": "https://evil.example"}
        )
        preflight = await bff.http.options(
            "/graphql",
            headers={
                "Origin": "https://app.example.com",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )

    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "access-control-allow-origin" not in other.headers
    assert preflight.status_code == 200
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()


async def test_every_response_carries_security_headers() -> None:
    async with running_bff(PRODUCTION) as bff:
        api = await bff.http.post("/graphql", json={"query": "{ __typename }"})
    async with running_bff() as bff:
        page = await bff.http.get("/graphql", headers={"accept": "text/html"})

    assert api.headers["x-content-type-options"] == "nosniff"
    assert api.headers["referrer-policy"] == "no-referrer"
    assert api.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "strict-transport-security" not in api.headers
