"""Planned execution answers exactly as graphql-core's executor does.

Two tiers: the BFF's own schema over the demo services, and a small schema
built here to reach what the BFF's schema cannot (null propagation through
non-null lists and objects, failing and wrongly typed resolvers, permission
classes, enum and input arguments). The small schema has `@defer` and
`@stream` enabled, for `tests/integration/test_planned_incremental.py`.
"""

from __future__ import annotations

import asyncio
import typing
from enum import Enum

import pytest
import strawberry
from graphql import (
    DocumentNode,
    ExecutionResult,
    OperationDefinitionNode,
    get_operation_ast,
    get_variable_values,
    parse,
)
from graphql.execution.values import VariableValues
from strawberry.schema.config import StrawberryConfig

from bff.contract.examples import REFERENCE_OPERATIONS
from bff.execution.analysis import analyse
from bff.execution.cache_policy import CachePolicies
from bff.execution.executor import PlannedExecution
from bff.execution.plan import build_plan
from tests.harness import running_bff, signed_in
from tests.integration.test_queries import LISTING_QUERY, PRODUCT_QUERY, USER_ID, USER_QUERY

FRAGMENTS = """
query Fragments($id: ID!, $withStock: Boolean!, $skipRating: Boolean = false) {
  first: product(id: $id) { ...Basics stock @include(if: $withStock) { available } }
  second: product(id: "p2") {
    __typename
    ... on Product { id name }
    ...Basics
    rating @skip(if: $skipRating) { count }
    alias: name
  }
  missing: product(id: "p999999") { id }
  bad: products(first: 0) { nodes { id } }
  category(id: "c7") { __typename parent { name parent { name } } }
}
fragment Basics on Product { id price { cents } reviews(first: 2) { rating author { name } } }
"""

CORPUS: list[tuple[str, dict[str, object], str | None]] = [
    *((op.query, dict(op.variables), op.signed_in_as) for op in REFERENCE_OPERATIONS),
    (USER_QUERY, {"id": USER_ID}, None),
    (PRODUCT_QUERY, {"id": "p7"}, None),
    (LISTING_QUERY, {"category": "c2", "first": 3}, None),
    (FRAGMENTS, {"id": "p1", "withStock": True}, None),
    (FRAGMENTS, {"id": "p3", "withStock": False, "skipRating": True}, None),
    (
        "{ me { id email orders(first: 1) { id } } recommendations(first: 2) { id } }",
        {},
        "u2",
    ),
    # Batch forms (`schema.batching`): an argument refused for every object, and
    # reads through a review back to its product and author.
    ("{ products(first: 3) { nodes { id reviews(first: 0) { id } } } }", {}, None),
    (
        '{ product(id: "p3") { reviews(first: 2) { product { id name } author { id name } } } }',
        {},
        None,
    ),
    # Deprecated, still served: a field and an argument.
    ('{ product(id: "p5") { priceCents } recommendations(limit: 2) { id } }', {}, None),
]


def normalised(body: dict[str, typing.Any]) -> dict[str, typing.Any]:
    """Errors in a stable order: executors may finish fields in different orders."""
    errors = sorted(
        body.get("errors", []), key=lambda error: (str(error.get("path")), error["message"])
    )
    return {**body, "errors": errors}


@pytest.mark.parametrize(("query", "variables", "user"), CORPUS)
async def test_the_bffs_schema_answers_alike(
    query: str, variables: dict[str, object], user: str | None
) -> None:
    headers = signed_in(user) if user else {}
    replies = []
    for planned in ("true", "false"):
        async with running_bff({"BFF_PLANNED_EXECUTION": planned}) as bff:
            replies.append(await bff.query(query, variables, headers=headers))

    assert normalised(replies[0].body) == normalised(replies[1].body)
    assert replies[0].status == replies[1].status


# A schema for the corners the BFF's own schema does not reach.


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.input
class Filter:
    colour: Colour
    limit: int = 2


class Denied(strawberry.BasePermission):
    message = "not for you"

    def has_permission(self, source: object, info: strawberry.Info, **kwargs: object) -> bool:
        return False


@strawberry.type
class Item:
    id: int

    @strawberry.field
    async def name(self) -> str:
        await asyncio.sleep(0)
        if self.id == 3:
            raise ValueError("item 3 has no name")
        return f"item {self.id}"

    @strawberry.field
    def maybe(self) -> str | None:
        return None if self.id % 2 else "even"

    @strawberry.field
    def required(self) -> str:
        return None if self.id == 2 else "here"  # type: ignore[return-value]

    @strawberry.field
    def wrong(self) -> int:
        return "not a number"  # type: ignore[return-value]

    @strawberry.field(permission_classes=[Denied])
    def secret(self) -> str | None:
        return "leaked"

    @strawberry.field
    async def child(self, info: strawberry.Info) -> Item | None:
        return Item(id=self.id * 10) if self.id < 10 else None

    @strawberry.field
    async def flaky(self) -> str | None:
        await asyncio.sleep(0)
        if self.id == 3:
            raise ValueError("item 3 is flaky")
        return f"steady {self.id}"

    @strawberry.field
    async def friend(self, info: strawberry.Info) -> Item | None:
        """Through the request's loader, when the context has one (`Friends`)."""
        friends = getattr(info.context, "friends", None)
        return None if friends is None else await friends.load(self.id)

    @strawberry.field
    async def later(self, info: strawberry.Info) -> str:
        """Answers once the context's `release` event is set, when it has one."""
        release = getattr(info.context, "release", None)
        if release is not None:
            await release.wait()
        return f"later {self.id}"


@strawberry.type
class Root:
    @strawberry.field
    def items(self, ids: list[int]) -> list[Item]:
        return [Item(id=i) for i in ids]

    @strawberry.field
    def item(self, id: int) -> Item | None:
        return Item(id=id)

    @strawberry.field
    def strict_items(self, ids: list[int]) -> list[Item] | None:
        return [Item(id=i) for i in ids]

    @strawberry.field
    def loose(self, ids: list[int]) -> list[Item | None]:
        return [Item(id=i) if i else None for i in ids]

    @strawberry.field
    def colours(self, filter: Filter, extra: Colour = Colour.BLUE) -> list[Colour]:
        return [filter.colour, extra][: filter.limit]

    @strawberry.field
    def not_a_list(self) -> list[int] | None:
        return 42  # type: ignore[return-value]

    @strawberry.field
    async def boom(self) -> int:
        raise RuntimeError("boom")

    @strawberry.field
    def counts(self) -> list[int | None]:
        # GraphQL's Int stops at 32 bits: the last two are errors, not numbers.
        return [0, -(2**31), 2**31 - 1, 2**31, -(2**31) - 1]

    @strawberry.field
    def big(self) -> int:
        return 2**40

    @strawberry.field
    async def timed(self) -> int:
        # asyncio's timeouts (and aiohttp's) need the resolver to run in its own task.
        await asyncio.sleep(0)
        async with asyncio.timeout(1):
            await asyncio.sleep(0)
        return 1


SCHEMA = strawberry.Schema(
    query=Root, config=StrawberryConfig(enable_experimental_incremental_execution=True)
)

EDGE_CASES = [
    ("{ items(ids: [1, 2, 4]) { id maybe required } }", {}),
    ("{ items(ids: [1, 3]) { id name } }", {}),
    ("{ strictItems(ids: [1, 3]) { id name } }", {}),
    ("{ loose(ids: [1, 0, 3]) { id name maybe } }", {}),
    ("{ items(ids: [1]) { wrong } }", {}),
    ("{ items(ids: [1]) { id secret } }", {}),
    ("{ items(ids: [1, 2]) { child { id child { id child { id } } } } }", {}),
    ("query ($f: Filter!) { colours(filter: $f) }", {"f": {"colour": "RED"}}),
    ("{ colours(filter: {colour: BLUE, limit: 1}, extra: RED) }", {}),
    ("{ notAList }", {}),
    ("{ a: boom b: items(ids: [5]) { id } }", {}),
    ("{ counts }", {}),
    ("{ timed items(ids: [1]) { id } }", {}),
    ("{ big items(ids: [1]) { id } }", {}),
    ("{ __typename items(ids: [7]) { __typename id } }", {}),
    (
        "query ($s: Boolean!) { items(ids: [1]) { id @skip(if: $s) ...F } }"
        " fragment F on Item { maybe }",
        {"s": True},
    ),
]


class Planning(typing.NamedTuple):
    """What planning a query needs: its document, operation, variables and conditions."""

    document: DocumentNode
    operation: OperationDefinitionNode
    variables: VariableValues
    conditions: dict[str, object]


def planning(query: str, variables: dict[str, object]) -> Planning:
    """`query` parsed, analysed (it must be plannable) and its variables coerced."""
    document = parse(query)
    operation = get_operation_ast(document)
    assert operation is not None
    analysis = analyse(
        SCHEMA._schema,
        document,
        operation,
        policies=CachePolicies(SCHEMA._schema),
        personal=frozenset(),
        deprecations={},
    )
    assert analysis.plannable
    coerced = get_variable_values(SCHEMA._schema, operation.variable_definitions or (), variables)
    assert not isinstance(coerced, list)
    conditions = {name: coerced.coerced.get(name) for name in analysis.conditions}
    return Planning(document, operation, coerced, conditions)


async def run_both(
    query: str, variables: dict[str, object]
) -> tuple[strawberry.types.ExecutionResult, ExecutionResult]:
    document, operation, coerced, conditions = planning(query, variables)
    reference = await SCHEMA.execute(query, variable_values=variables)
    plan = build_plan(SCHEMA._schema, document, operation, conditions)
    execution = PlannedExecution(SCHEMA, operation, coerced, context=None)
    data = await execution.run(plan)
    return reference, ExecutionResult(data=data, errors=execution.errors or None)


@pytest.mark.parametrize(("query", "variables"), EDGE_CASES)
async def test_edge_cases_answer_alike(query: str, variables: dict[str, object]) -> None:
    reference, planned = await run_both(query, variables)

    assert planned.data == reference.data
    assert sorted(repr(e.formatted) for e in planned.errors or []) == sorted(
        repr(e.formatted) for e in reference.errors or []
    )


async def test_permission_classes_still_deny() -> None:
    _, planned = await run_both("{ items(ids: [1]) { id secret } }", {})

    assert planned.data == {"items": [{"id": 1, "secret": None}]}
    assert [error.message for error in planned.errors or []] == ["not for you"]
