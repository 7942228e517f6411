"""The BFF's caches seen from outside: downstream calls saved, and nothing leaked."""

from __future__ import annotations

import asyncio

import pytest

from bff.contract.examples import CATEGORY_LISTING, HOME_FEED, PRODUCT_PAGE
from demo.services import build_services
from tests.harness import Clock, running_bff, signed_in

NO_RESPONSE_CACHE = {"BFF_RESPONSE_CACHE": "false"}


async def test_warm_reference_operations_barely_reach_downstream() -> None:
    async with running_bff(NO_RESPONSE_CACHE) as bff:
        warm: dict[str, dict[str, int]] = {}
        for example in (PRODUCT_PAGE, CATEGORY_LISTING, HOME_FEED):
            await bff.run(example)
            bff.reset_calls()
            reply = await bff.run(example)
            assert "errors" not in reply.body
            warm[example.name] = bff.calls_by_route()

    # Only what downstream services forbid caching is read again: review authors
    # (private, and the caller is anonymous) and orders (private, no-cache: a 304).
    assert warm == {
        "ProductPage": {"accounts GET /users": 1},
        "CategoryListing": {"accounts GET /users": 1},
        "HomeFeed": {"orders GET /orders": 1},
    }


async def test_concurrent_identical_operations_share_each_read() -> None:
    demo = build_services()
    for service in demo.values():
        service.faults.latency_ms = 20
    async with running_bff(NO_RESPONSE_CACHE, demo=demo) as bff:
        replies = await asyncio.gather(*(bff.run(PRODUCT_PAGE, id="p9") for _ in range(20)))
        calls = bff.calls_by_route()

    assert all(reply.body == replies[0].body for reply in replies)
    assert "errors" not in replies[0].body
    assert calls == {
        "catalog GET /products": 1,
        "catalog GET /categories/{id}": 1,
        "inventory GET /stock": 1,
        "reviews GET /reviews/summary": 1,
        "reviews GET /reviews": 1,
        "accounts GET /users": 1,
    }


async def test_public_responses_are_reused_for_their_computed_max_age() -> None:
    clock = Clock()
    async with running_bff(clock=clock) as bff:
        first = await bff.run(CATEGORY_LISTING, category="c4")
        cold_calls = bff.calls()
        clock.now += 3
        again = await bff.run(CATEGORY_LISTING, category="c4")
        after_hit = bff.calls()
        other = await bff.run(CATEGORY_LISTING, category="c5")
        clock.now += 3  # stock's 5 s bound the listing's max-age
        expired = await bff.run(CATEGORY_LISTING, category="c4")

    assert first.headers["cache-control"] == "public, max-age=5"
    assert again.body == first.body
    assert again.headers["age"] == "3"
    assert after_hit == cold_calls
    assert other.body != first.body
    assert "age" not in expired.headers
    assert bff.calls() > after_hit


async def test_private_answers_are_never_stored_or_shared() -> None:
    mixed = '{ product(id: "p1") { name } me { name } }'
    async with running_bff() as bff:
        ada = await bff.query(mixed, headers=signed_in("u1"))
        bob = await bff.query(mixed, headers=signed_in("u2"))
        anonymous = await bff.query(mixed)
        email_calls = []
        for _ in range(2):
            await bff.query('{ user(id: "u7") { name email } }')
            email_calls.append(bff.demo["accounts"].stats.total())

    assert ada.data["me"]["name"] == "Ada Lovelace"
    assert bob.data["me"]["name"] != "Ada Lovelace"
    assert anonymous.data["me"] is None
    assert ada.headers["cache-control"] == "private, max-age=30"
    assert email_calls[1] == email_calls[0] + 1


async def test_partial_answers_are_not_stored() -> None:
    demo = build_services()
    demo["inventory"].faults.error_rate = 1.0
    async with running_bff(demo=demo) as bff:
        broken = await bff.run(PRODUCT_PAGE, id="p2")
        demo["inventory"].faults.error_rate = 0.0
        mended = await bff.run(PRODUCT_PAGE, id="p2")

    assert broken.headers["cache-control"] == "no-store"
    assert broken.data["product"]["stock"] is None
    assert mended.data["product"]["stock"] is not None
    assert "errors" not in mended.body


async def test_a_placed_order_shows_in_the_next_request() -> None:
    stock = "query S($id: ID!) { product(id: $id) { stock { available } } }"
    order = """
      mutation {
        placeOrder(input: {lines: [{productId: "p12", quantity: 1}]}, idempotencyKey: "k") { id }
      }
    """
    async with running_bff(NO_RESPONSE_CACHE) as bff:
        before = await bff.query(stock, {"id": "p12"})
        await bff.query(order, headers=signed_in("u1"))
        after = await bff.query(stock, {"id": "p12"})

    available = before.data["product"]["stock"]["available"]
    assert after.data["product"]["stock"]["available"] == available - 1


# A public field beside the caller's own name, the private part reached only through a
# fragment: the policy must read inside fragments, or Ada's name goes to everyone.
PRIVATE_INSIDE_FRAGMENTS = {
    "named": """
      { product(id: "p1") { name } ...Me }
      fragment Me on Query { me { name } }
    """,
    "inline": '{ product(id: "p1") { name } ... on Query { me { name } } }',
    "inline without a type": """
      { product(id: "p1") { name } ... @include(if: true) { me { name } } }
    """,
    "nested named": """
      { product(id: "p1") { name } ...Outer }
      fragment Outer on Query { ...Me }
      fragment Me on Query { me { name } }
    """,
    "inline inside named": """
      { product(id: "p1") { name } ...Outer }
      fragment Outer on Query { ... on Query { me { name } } }
    """,
    "named inside inline": """
      { product(id: "p1") { name } ... on Query { ...Me } }
      fragment Me on Query { me { name } }
    """,
}


@pytest.mark.parametrize("planned", ["true", "false"], ids=["planned", "field-by-field"])
@pytest.mark.parametrize(
    "document", PRIVATE_INSIDE_FRAGMENTS.values(), ids=PRIVATE_INSIDE_FRAGMENTS
)
async def test_private_fields_inside_fragments_keep_the_answer_private(
    planned: str, document: str
) -> None:
    async with running_bff({"BFF_PLANNED_EXECUTION": planned}) as bff:
        ada = await bff.query(document, headers=signed_in("u1"))
        bob = await bff.query(document, headers=signed_in("u2"))
        anonymous = await bff.query(document)

    assert ada.data["me"]["name"] == "Ada Lovelace"
    assert ada.headers["cache-control"] == "private, max-age=30"
    assert bob.data["me"]["name"] != "Ada Lovelace"
    assert anonymous.data == {"product": ada.data["product"], "me": None}
    assert "age" not in bob.headers
    assert "age" not in anonymous.headers
