"""`X-BFF-Debug: 1`: the downstream calls behind an operation, in its response."""

from __future__ import annotations

from bff.contract.examples import CATEGORY_LISTING, PRODUCT_PAGE
from tests.harness import running_bff

DEBUG = {"X-BFF-Debug": "1"}
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


async def test_the_timeline_names_every_downstream_call() -> None:
    headers = {**DEBUG, "traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"}
    async with running_bff() as bff:
        cold = await bff.query(PRODUCT_PAGE.query, {"id": "p1"}, headers=headers)
        warm = await bff.query(PRODUCT_PAGE.query, {"id": "p1"}, headers=DEBUG)

    debug = cold.body["extensions"]["debug"]
    assert debug["traceId"] == TRACE_ID
    assert debug["warnings"] == []
    calls = {(call["service"], call["route"]): call for call in debug["downstream"]}
    assert set(calls) == {
        ("catalog", "/products"),
        ("catalog", "/categories/{id}"),
        ("inventory", "/stock"),
        ("reviews", "/reviews/summary"),
        ("reviews", "/reviews"),
        ("accounts", "/users"),
    }
    users = calls[("accounts", "/users")]
    assert users["source"] == "network"
    assert users["status"] == 200
    assert users["batchSize"] == 5
    assert users["method"] == "GET"
    assert users["startMs"] >= calls[("reviews", "/reviews")]["startMs"]
    assert users["durationMs"] >= 0
    assert "age" not in users

    # The second time the shared cache answers all but the caller-private users.
    again = warm.body["extensions"]["debug"]["downstream"]
    sources = {(call["service"], call["route"]): call["source"] for call in again}
    assert sources[("catalog", "/products")] == "shared"
    assert sources[("accounts", "/users")] == "network"
    shared = next(call for call in again if call["route"] == "/products")
    assert shared["ageSeconds"] >= 0
    assert shared["batchSize"] == 1


async def test_repeated_keys_show_as_per_request_cache_hits() -> None:
    async with running_bff() as bff:
        reply = await bff.run(CATEGORY_LISTING, category="c1")
        debugged = await bff.query(CATEGORY_LISTING.query, {"category": "c1"}, headers=DEBUG)

    assert "extensions" not in reply.body
    debug = debugged.body["extensions"]["debug"]
    assert debug["perRequestCache"]["categories"] == 49  # fifty products, one category


async def test_an_n_plus_one_is_called_out() -> None:
    env = {"BFF_BATCHING": "false", "BFF_DOWNSTREAM_CACHE": "false"}
    async with running_bff(env) as bff:
        reply = await bff.query(CATEGORY_LISTING.query, {"category": "c1"}, headers=DEBUG)

    warnings = reply.body["extensions"]["debug"]["warnings"]
    assert any(
        warning.startswith("inventory GET /stock was called 50 times, one item each")
        for warning in warnings
    )
    assert any("catalog GET /categories/{id}" in warning for warning in warnings)


async def test_production_never_answers_with_a_timeline() -> None:
    async with running_bff({"BFF_PROFILE": "production"}) as bff:
        reply = await bff.query(PRODUCT_PAGE.query, {"id": "p1"}, headers=DEBUG)

    assert "extensions" not in reply.body
    assert reply.data["product"]["id"] == "p1"
