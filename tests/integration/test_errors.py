"""Field errors: null plus a coded error at the field's path, and the rest intact."""

from __future__ import annotations

import asyncio

import pytest

from demo.services import build_services
from tests.harness import Harness, running_bff, signed_in


def admin() -> dict[str, str]:
    """An admin's headers, signed when a test sends them (not at import, to age meanwhile)."""
    return signed_in("u1", roles=("admin",))


async def test_missing_ids_are_null_with_not_found(bff: Harness) -> None:
    reply = await bff.query(
        """{
          product(id: "p999999") { id }
          user(id: "u999999") { id }
          order(id: "o999999") { id }
          category(id: "c999") { id }
          known: product(id: "p1") { id }
        }""",
        headers=admin(),
    )

    assert reply.status == 200
    assert reply.data == {
        "product": None,
        "user": None,
        "order": None,
        "category": None,
        "known": {"id": "p1"},
    }
    assert reply.error_at("product") == {
        "message": "No product with id 'p999999'",
        "locations": [{"line": 2, "column": 11}],
        "path": ["product"],
        "extensions": {"code": "NOT_FOUND", "service": "catalog"},
    }
    assert reply.error_at("user")["extensions"] == {"code": "NOT_FOUND", "service": "accounts"}
    assert reply.error_at("order")["extensions"] == {"code": "NOT_FOUND", "service": "orders"}
    assert reply.error_at("category")["extensions"] == {"code": "NOT_FOUND", "service": "catalog"}


async def test_unknown_user_header_makes_me_not_found(bff: Harness) -> None:
    reply = await bff.query("{ me { id } }", headers=signed_in("u999999"))

    assert reply.data == {"me": None}
    assert reply.codes() == ["NOT_FOUND"]


@pytest.mark.parametrize(
    ("query", "path", "message"),
    [
        (
            "{ products(first: 0) { nodes { id } } }",
            ["products"],
            "`first` must be between 1 and 100, got 0",
        ),
        (
            "{ products(first: 101) { nodes { id } } }",
            ["products"],
            "`first` must be between 1 and 100, got 101",
        ),
        (
            '{ products(after: "nope") { nodes { id } } }',
            ["products"],
            "`after` is not a cursor issued by this API",
        ),
        (
            '{ product(id: "p1") { reviews(first: 51) { id } } }',
            ["product", "reviews"],
            "`first` must be between 1 and 50, got 51",
        ),
        (
            "{ recommendations(first: -1) { id } }",
            ["recommendations"],
            "`first` must be between 1 and 50, got -1",
        ),
        (
            '{ user(id: "u1") { orders(first: 0) { id } } }',
            ["user", "orders"],
            "`first` must be between 1 and 50, got 0",
        ),
        (
            '{ user(id: "u1") { reviews(first: 99) { id } } }',
            ["user", "reviews"],
            "`first` must be between 1 and 50, got 99",
        ),
    ],
)
async def test_out_of_range_arguments_are_bad_user_input(
    bff: Harness, query: str, path: list[str], message: str
) -> None:
    reply = await bff.query(query, headers=admin())

    error = reply.error_at(*path)
    assert error["message"] == message
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}


async def test_unknown_category_lists_nothing(bff: Harness) -> None:
    reply = await bff.query(
        '{ products(category: "c999") { nodes { id } pageInfo { hasNextPage } } }'
    )

    assert reply.data == {"products": {"nodes": [], "pageInfo": {"hasNextPage": False}}}


@pytest.mark.parametrize("bad_id", ["x" * 70_000, "p1,p2", "../users", "", "p 1", "ü1"])
async def test_ids_that_are_not_ids_are_refused_without_harming_siblings(
    bff: Harness, bad_id: str
) -> None:
    reply = await bff.query(
        'query Q($id: ID!) { bad: category(id: $id) { id } good: category(id: "c1") { id } }',
        {"id": bad_id},
    )

    assert reply.data == {"bad": None, "good": {"id": "c1"}}
    assert reply.error_at("bad")["extensions"] == {"code": "BAD_USER_INPUT"}
    assert reply.error_at("bad")["message"].startswith("`id` must be an id such as p1")
    assert bff.calls() == 1


async def test_waiting_for_a_connection_counts_against_the_timeout() -> None:
    demo = build_services()
    inventory = demo["inventory"]
    env = {
        "BFF_INVENTORY_MAX_CONNECTIONS": "1",
        # The holder may keep inventory's one slot as long as the test likes; each
        # waiter has a third of a second in all, slot or no slot.
        "BFF_INVENTORY_TIMEOUT_MS": "60000",
        "BFF_OPERATION_BUDGETS": "Holder=60000,Waiter=300",
        # One attempt each and no breaker: only the wait for a slot is under test.
        "BFF_RETRY_ATTEMPTS": "1",
        "BFF_BREAKER": "false",
        "BFF_RESPONSE_CACHE": "false",
    }
    debug = {"x-bff-debug": "1"}
    async with running_bff(env, demo=demo) as bff:
        inventory.faults.hold.catch(1)
        holder = asyncio.create_task(
            bff.query(_stock_query("Holder"), {"id": "p1"}, operation_name="Holder")
        )
        await inventory.faults.hold.caught(1)
        try:
            # Ten seconds: never reached, unless waiters queue for the slot the test holds.
            async with asyncio.timeout(10):
                waiters = await asyncio.gather(
                    *(
                        bff.query(
                            _stock_query("Waiter"),
                            {"id": f"p{n}"},
                            headers=debug,
                            operation_name="Waiter",
                        )
                        for n in range(2, 5)
                    )
                )
            still_holding = not holder.done()
        finally:
            await inventory.faults.hold.release()
        held = await holder

    # Each waiter gave up at its deadline while the slot was still taken: it was sent
    # on its way (not refused beforehand) but never reached the service.
    assert still_holding
    for reply in waiters:
        assert reply.codes() == ["DOWNSTREAM_TIMEOUT"]
        (call,) = [
            c
            for c in reply.body["extensions"]["debug"]["downstream"]
            if c["service"] == "inventory"
        ]
        assert (call["source"], call["error"]) == ("network", "DOWNSTREAM_TIMEOUT")
    assert inventory.stats.total() == 1
    assert held.data["product"]["stock"] is not None


def _stock_query(name: str) -> str:
    return f"query {name}($id: ID!) {{ product(id: $id) {{ stock {{ available }} }} }}"
