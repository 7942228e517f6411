"""`@defer` and `@stream` through `Operations.execute_incrementally`: the corner cases.

A small schema built here reaches what the BFF's cannot on demand: a field
that fails, a non-null one that is null, a resolver that never answers. The
payloads are checked in the deferSpec=20220824 shape (`bff.execution.incremental`),
each test on both executors: the planned one (`bff.execution.incremental_plan`)
and graphql-core's (`BFF_PLANNED_EXECUTION=false`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any, cast

import pytest
import strawberry
from graphql import ExecutionResult
from strawberry.schema.config import StrawberryConfig

from bff.execution.errors import RequestFailure
from bff.execution.incremental import Incremental, Subsequent
from bff.execution.operations import Operations
from resolvers.context import Context
from schema import build_schema


@strawberry.type
class Item:
    id: int

    @strawberry.field
    async def name(self) -> str:
        await asyncio.sleep(0.01)
        return f"item {self.id}"

    @strawberry.field
    async def failing(self) -> str | None:
        raise ValueError("no such thing")

    @strawberry.field
    async def required(self) -> str:
        return None  # type: ignore[return-value]

    @strawberry.field
    async def never(self) -> str:
        await asyncio.sleep(60)
        return "too late"


@strawberry.type
class Root:
    @strawberry.field
    def items(self, count: int = 4) -> list[Item]:
        return [Item(id=index) for index in range(count)]

    @strawberry.field
    def item(self) -> Item | None:
        return Item(id=7)


SCHEMA = strawberry.Schema(
    query=Root, config=StrawberryConfig(enable_experimental_incremental_execution=True)
)
NO_CONTEXT = cast(Context, None)
PLANNED: list[bool] = [True]
"""Whether `run` uses the planned executor: each test runs with both (`executor`)."""


@pytest.fixture(autouse=True, params=[True, False], ids=["planned", "graphql-core"])
def executor(request: pytest.FixtureRequest) -> Iterator[None]:
    PLANNED[0] = request.param
    yield
    PLANNED[0] = True


async def run(
    query: str, variables: dict[str, object] | None = None
) -> Incremental | ExecutionResult:
    operations = Operations(SCHEMA, planned=PLANNED[0])
    try:
        prepared = await operations.prepare(query, None)
        assert prepared.incremental
        assert prepared.plannable
        outcome = await operations.execute_incrementally(prepared, variables, NO_CONTEXT)
        # The executor asked for is the one that ran it.
        assert (operations.planned_incremental == 1) is PLANNED[0]
        return outcome
    finally:
        operations.close()


async def parts(query: str, deadline: float | None = None) -> tuple[Incremental, list[Subsequent]]:
    outcome = await run(query)
    assert isinstance(outcome, Incremental)
    return outcome, [payload async for payload in outcome.payloads(deadline)]


def wire(payloads: list[Subsequent]) -> list[dict[str, Any]]:
    """The parts as sent, errors by message and path."""
    shaped = []
    for payload in payloads:
        for part in payload.parts:
            entry: dict[str, Any] = {"path": list(part.path)}
            entry["items" if part.streamed else "data"] = part.items if part.streamed else part.data
            if part.label is not None:
                entry["label"] = part.label
            if part.errors:
                entry["errors"] = [(error.message, error.path) for error in part.errors]
            shaped.append(entry)
    return shaped


async def test_a_deferred_fragment_comes_later_at_its_path_with_its_label() -> None:
    outcome, payloads = await parts('{ item { id ... @defer(label: "late") { name } } }')

    assert outcome.initial.data == {"item": {"id": 7}}
    assert wire(payloads) == [{"path": ["item"], "data": {"name": "item 7"}, "label": "late"}]
    assert payloads[-1].has_next is False


async def test_an_error_in_a_deferred_fragment_stays_in_its_payload_with_its_path() -> None:
    outcome, payloads = await parts("{ item { id ... @defer { failing } } }")

    assert outcome.initial.errors is None
    assert wire(payloads) == [
        {
            "path": ["item"],
            "data": {"failing": None},
            "errors": [("no such thing", ["item", "failing"])],
        }
    ]


async def test_a_null_propagating_out_of_a_deferred_fragment_nulls_the_part() -> None:
    outcome, payloads = await parts("{ item { id ... @defer { name required } } }")

    assert outcome.initial.data == {"item": {"id": 7}}
    [part] = wire(payloads)
    assert part["path"] == ["item"]
    assert part["data"] is None
    assert [path for _, path in part["errors"]] == [["item", "required"]]
    merged = await (await _incremental("{ item { id ... @defer { name required } } }")).merged(None)
    # One JSON body: the object the failed part was spread on is null, as undeferred.
    assert merged.data == {"item": None}
    assert merged.errors
    assert merged.errors[0].path == ["item", "required"]


async def test_defer_if_false_answers_the_fragment_inline() -> None:
    outcome = await run(
        "query ($d: Boolean!) { item { id ... @defer(if: $d) { name } } }", {"d": False}
    )

    assert isinstance(outcome, ExecutionResult)
    assert outcome.data == {"item": {"id": 7, "name": "item 7"}}


async def test_stream_sends_the_initial_count_then_the_rest_at_their_indexes() -> None:
    outcome, payloads = await parts("{ items(count: 5) @stream(initialCount: 2) { id } }")

    assert outcome.initial.data == {"items": [{"id": 0}, {"id": 1}]}
    sent = wire(payloads)
    assert sent[0]["path"] == ["items", 2]
    items = [item for part in sent for item in part["items"]]
    assert items == [{"id": 2}, {"id": 3}, {"id": 4}]
    indexes = [part["path"][-1] for part in sent]
    assert indexes == sorted(indexes)
    merged = await (
        await _incremental("{ items(count: 5) @stream(initialCount: 2) { id } }")
    ).merged(None)
    assert merged.data == {"items": [{"id": index} for index in range(5)]}


async def test_defer_inside_a_list_item_answers_each_item_at_its_index() -> None:
    outcome, payloads = await parts("{ items(count: 3) { id ... @defer { name } } }")

    assert outcome.initial.data == {"items": [{"id": 0}, {"id": 1}, {"id": 2}]}
    sent = sorted(wire(payloads), key=lambda part: part["path"])
    assert sent == [
        {"path": ["items", index], "data": {"name": f"item {index}"}} for index in range(3)
    ]


async def test_a_stream_of_deferred_items_is_numbered_and_merged_in_order() -> None:
    query = "{ items(count: 4) @stream(initialCount: 1) { id ... @defer { name } } }"
    merged = await (await _incremental(query)).merged(None)

    assert merged.errors is None
    assert merged.data == {"items": [{"id": i, "name": f"item {i}"} for i in range(4)]}


async def test_a_part_still_running_at_the_deadline_ends_with_a_coded_error() -> None:
    query = '{ item { id ... @defer(label: "slow") { never } } }'
    started = time.monotonic()
    async with asyncio.timeout(10):
        _, payloads = await parts(query, deadline=time.monotonic() + 0.2)

    assert time.monotonic() - started < 5
    assert payloads[-1].has_next is False
    [part] = payloads[-1].parts
    assert part.path == ("item",)
    assert part.label == "slow"
    assert part.data is None
    [error] = part.errors
    assert error.path == ["item"]
    original = error.original_error
    assert original is not None
    assert getattr(original, "code", None) == "DOWNSTREAM_TIMEOUT"


async def _incremental(query: str) -> Incremental:
    outcome = await run(query)
    assert isinstance(outcome, Incremental)
    return outcome


async def test_incremental_and_inline_plans_are_kept_apart_and_weigh_alike() -> None:
    operations = Operations(SCHEMA)
    try:
        prepared = await operations.prepare("{ item { id ... @defer { name } } }", None)
        whole = await operations.execute_incrementally(prepared, None, NO_CONTEXT, parts=False)
        inline = operations.plan_cache_bytes()
        outcome = await operations.execute_incrementally(prepared, None, NO_CONTEXT)
        both = operations.plan_cache_bytes()
    finally:
        operations.close()

    # Without parts, the planned executor's ordinary plan answers the fragment inline.
    assert isinstance(whole, ExecutionResult)
    assert whole.data == {"item": {"id": 7, "name": "item 7"}}
    assert isinstance(outcome, Incremental)
    await outcome.aclose()
    assert operations.planned_incremental == 1
    # A plan of its own, its deferred fragment's fields counted in its weight.
    assert inline > 0
    assert both == 2 * inline


async def test_a_subscription_may_not_defer() -> None:
    operations = Operations(build_schema())
    try:
        with pytest.raises(RequestFailure) as refused:
            await operations.prepare(
                'subscription { orderStatus(orderId: "o1") { id ... @defer { status } } }', None
            )
    finally:
        operations.close()
    assert refused.value.code == "GRAPHQL_VALIDATION_FAILED"


async def test_graphql_core_still_runs_documents_without_defer() -> None:
    operations = Operations(build_schema())
    try:
        prepared = await operations.prepare("{ __schema { directives { name } } }", None)
        result = await operations.execute(prepared, None, NO_CONTEXT)
    finally:
        operations.close()
    assert result.errors is None
    assert result.data is not None
    names = {directive["name"] for directive in result.data["__schema"]["directives"]}
    assert {"defer", "stream"} <= names
