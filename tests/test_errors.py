"""Field errors: null plus a coded error at the field's path, and the rest intact."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.harness import Harness, signed_in


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
    from demo.services import build_services
    from tests.harness import running_bff

    demo = build_services()
    demo["inventory"].faults.hang_rate = 1.0
    env = {
        "BFF_INVENTORY_TIMEOUT_MS": "300",
        "BFF_DOWNSTREAM_MAX_CONNECTIONS": "2",
        # One attempt each and no breaker: only the wait for a slot is under test.
        "BFF_RETRY_ATTEMPTS": "1",
        "BFF_BREAKER": "false",
    }
    async with running_bff(env, demo=demo) as bff:
        started = time.monotonic()
        replies = await asyncio.gather(
            *(
                bff.query(
                    "query P($id: ID!) { product(id: $id) { stock { available } } }",
                    {"id": f"p{n}"},
                )
                for n in range(1, 9)
            )
        )
        elapsed = time.monotonic() - started

    assert [reply.codes() for reply in replies] == [["DOWNSTREAM_TIMEOUT"]] * 8
    # Eight hanging calls through two connection slots: each gives up after 0.3 s
    # instead of queueing behind the others (which would take 1.2 s and more).
    assert elapsed < 1.0
