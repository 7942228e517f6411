"""Deprecated fields and arguments: they keep working, and every use is counted."""

from __future__ import annotations

from graphql import get_operation_ast, parse

from bff.limits import measure
from schema import build_schema
from tests.harness import Harness

SCHEMA = build_schema()._schema

OLD_APP = """query OldHome {
  product(id: "p1") { priceCents price { cents currency } }
  recommendations(limit: 3) { id }
}"""
NEW_APP = "{ recommendations(first: 3) { id } }"


async def test_the_deprecated_field_and_argument_still_answer(bff: Harness) -> None:
    old = await bff.query(OLD_APP)
    new = await bff.query(NEW_APP)
    refused = await bff.query("{ recommendations(limit: 0) { id } }")

    product = old.data["product"]
    assert product["priceCents"] == product["price"]["cents"] > 0
    assert product["price"]["currency"] == "EUR"
    assert old.data["recommendations"] == new.data["recommendations"]
    assert len(old.data["recommendations"]) == 3
    assert refused.errors[0]["message"] == "`limit` must be between 1 and 50, got 0"
    assert refused.codes() == ["BAD_USER_INPUT"]


def test_the_deprecated_size_argument_costs_like_first() -> None:
    def cost(query: str) -> int:
        operation = get_operation_ast(parse(query))
        assert operation is not None
        return measure(SCHEMA, {}, operation, 10).cost

    assert cost("{ recommendations(limit: 50) { id } }") == 100
    assert cost("{ recommendations(limit: 50) { id } }") == cost(
        "{ recommendations(first: 50) { id } }"
    )
    assert cost("{ recommendations { id } }") == 20
