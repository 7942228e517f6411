"""One walk over a prepared document finds its policy, plan inputs, coordinates and more."""

from __future__ import annotations

import pytest
from graphql import get_introspection_query, get_operation_ast, parse

from bff.contract.examples import GRAPHIQL_TABS
from bff.execution.analysis import Analysis, analyse
from bff.execution.cache_policy import NOT_CACHEABLE, CachePolicies, CachePolicy
from bff.execution.coordinates import used_coordinates
from bff.execution.deprecation import deprecated_coordinates, deprecated_usage
from schema import build_schema

SCHEMA = build_schema()._schema
POLICIES = CachePolicies(SCHEMA)
DEPRECATIONS = deprecated_coordinates(SCHEMA)
TABS = {tab.name: tab.query for tab in GRAPHIQL_TABS}
MIXED = """
query Two($id: ID!, $full: Boolean!) {
  product(id: $id) { ...Named @include(if: $full) name @skip(if: $full) }
  __type(name: "Product") { name }
}
fragment Named on Product { name reviews(first: 2) { rating } category { name @skip(if: $deep) } }
fragment Unused on Product { price { amount } }
mutation Other { __typename }
"""


def _analysis(query: str, name: str | None) -> Analysis:
    document = parse(query)
    operation = get_operation_ast(document, name)
    assert operation is not None
    return analyse(
        SCHEMA,
        document,
        operation,
        policies=POLICIES,
        personal=frozenset({"Query.product(id:)"}),
        deprecations=DEPRECATIONS,
    )


@pytest.mark.parametrize(
    ("name", "policy", "plannable"),
    [
        ("ProductPage", CachePolicy(5, private=False), True),
        ("CategoryListing", CachePolicy(5, private=False), True),
        ("HomeFeed", CachePolicy(0, private=True), True),
        ("ProductPageDeferred", CachePolicy(5, private=False), True),
        ("PlaceOrder", NOT_CACHEABLE, False),
        ("OrderStatus", NOT_CACHEABLE, False),
    ],
)
def test_reference_operations(name: str, policy: CachePolicy, plannable: bool) -> None:
    analysis = _analysis(TABS[name], name)
    document = parse(TABS[name])
    operation = get_operation_ast(document, name)
    assert operation is not None
    assert analysis.policy == policy
    assert analysis.plannable is plannable
    assert analysis.conditions == ()
    assert analysis.coordinates == used_coordinates(SCHEMA, document, operation)
    assert analysis.deprecated == deprecated_usage(SCHEMA, document, operation)


def test_introspection_is_not_planned() -> None:
    analysis = _analysis(get_introspection_query(), None)
    assert not analysis.plannable
    assert analysis.policy == NOT_CACHEABLE


def test_reach_and_whole_document() -> None:
    """Conditions and coordinates count what the operation reaches; hints and personal
    variables count the whole document."""
    two = _analysis(MIXED, "Two")
    assert two.conditions == ("deep", "full")
    assert not two.plannable  # __type
    assert two.personal_variables == frozenset({"id"})
    assert "Product.reviews(first:)" in two.coordinates
    assert "Category.name" in two.coordinates
    assert "Product.price" not in two.coordinates  # only in a fragment nobody spreads
    assert "@skip(if:)" in two.coordinates
    assert two.policy == CachePolicy(30, private=False)
    other = _analysis(MIXED, "Other")
    assert other.coordinates == ()
    assert other.conditions == ()
    assert other.policy == NOT_CACHEABLE
    assert other.personal_variables == frozenset({"id"})


def test_defer_and_stream_are_planned_per_their_variables() -> None:
    """`@defer`/`@stream` keep a query plannable; their variables shape its plans."""
    deferred = _analysis(
        "query ($d: Boolean!, $n: Int!) { product(id: 1) { name ...Later @defer(if: $d) } }"
        " fragment Later on Product { reviews(first: 2) @stream(initialCount: $n) { rating } }",
        None,
    )
    assert deferred.plannable
    assert deferred.incremental
    assert deferred.conditions == ("d", "n")
    ordinary = _analysis("{ product(id: 1) { name } } fragment F on Product { id @defer }", None)
    assert not ordinary.incremental  # only in a fragment the operation does not reach


@pytest.mark.parametrize(
    ("query", "incremental"),
    [
        ('{ product(id: "p1") { id ... @defer { name } } }', True),
        ('{ product(id: "p1") { ...F @defer } } fragment F on Product { name }', True),
        ('{ product(id: "p1") { reviews(first: 3) @stream(initialCount: 1) { rating } } }', True),
        ('{ product(id: "p1") { ...F } } fragment F on Product { ... @defer { name } }', True),
        ('{ product(id: "p1") { id ... { name } } }', False),
    ],
)
def test_defer_and_stream_make_a_document_incremental_and_keep_it_plannable(
    query: str, incremental: bool
) -> None:
    analysis = _analysis(query, None)
    assert analysis.incremental is incremental
    assert analysis.plannable
