"""The one analysis walk finds what each separate pass finds."""

from __future__ import annotations

import pytest
from graphql import get_introspection_query, get_operation_ast, parse

from bff.contract.examples import GRAPHIQL_TABS
from bff.execution.analysis import analyse
from bff.execution.cache_policy import CachePolicies
from bff.execution.coordinates import used_coordinates
from bff.execution.deprecation import deprecated_among, deprecated_coordinates
from bff.execution.plan import condition_variables, plannable
from bff.security.privacy import personal_data, personal_variables
from schema import build_schema

SCHEMA = build_schema()._schema
EXTRA = [
    get_introspection_query(),
    """
    query Two($id: ID!, $full: Boolean!, $email: String!) {
      product(id: $id) { ...Named @include(if: $full) name @skip(if: $full) }
      __type(name: "Product") { name }
    }
    fragment Named on Product { name reviews(first: 2) { rating } }
    fragment Unused on Product { price { amount } }
    mutation Other($email: String!) { __typename }
    """,
]
DOCUMENTS = [(tab.query, tab.name) for tab in GRAPHIQL_TABS] + [
    (EXTRA[0], None),
    (EXTRA[1], "Two"),
    (EXTRA[1], "Other"),
]


@pytest.mark.parametrize(("query", "name"), DOCUMENTS)
def test_one_walk_agrees_with_each_pass(query: str, name: str | None) -> None:
    document = parse(query)
    operation = get_operation_ast(document, name)
    assert operation is not None
    policies = CachePolicies(SCHEMA)
    deprecations = deprecated_coordinates(SCHEMA)
    analysis = analyse(
        SCHEMA,
        document,
        operation,
        policies=policies,
        personal=frozenset(personal_data(SCHEMA)),
        deprecations=deprecations,
    )
    coordinates = used_coordinates(SCHEMA, document, operation)
    assert analysis.coordinates == coordinates
    assert analysis.policy == policies.policy(document, operation)
    assert analysis.plannable == plannable(document, operation)
    assert analysis.conditions == condition_variables(document, operation)
    assert analysis.personal_variables == personal_variables(SCHEMA, document)
    assert analysis.deprecated == deprecated_among(deprecations, coordinates)
    if name == "Two":  # the walk has something to find here
        assert analysis.conditions == ("full",)
        assert not analysis.plannable
