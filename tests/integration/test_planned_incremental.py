"""`@defer` and `@stream` on the planned executor answer as graphql-core 3.3's do.

graphql-core's `experimental_execute_incrementally` speaks the newer format
(`pending`, `completed`, `subPath`); its results are put in Apollo Router's
deferSpec=20220824 shape here, and compared with the planned executor's on the
corner-case schema of `test_planned_execution`: the assembled result, which
parts were sent apart (their path and label), and each part's errors. The
order of payloads may differ between the two, as the specification allows.
"""

from __future__ import annotations

import asyncio
import copy
import typing
from collections.abc import Sequence
from inspect import isawaitable

import pytest
from graphql import (
    ExecutionResult,
    ExperimentalIncrementalExecutionResults,
    experimental_execute_incrementally,
    get_operation_ast,
    parse,
    validate,
)

from bff.execution.incremental import Incremental
from bff.execution.incremental_plan import execute_incrementally
from bff.execution.plan import build_plan
from resolvers.loaders import BatchLoader
from tests.integration.test_planned_execution import SCHEMA, Item, planning

Json = dict[str, typing.Any]
Key = tuple[tuple[str | int, ...], str | None]
"""A part sent apart: the path of its object (or list, for a stream) and its label."""

CASES: list[tuple[str, str, dict[str, object]]] = [
    ("defer", "{ item(id: 1) { id ... @defer { name maybe child { id } } } }", {}),
    (
        "label",
        '{ item(id: 1) { id ...Later @defer(label: "later") } } fragment Later on Item { name }',
        {},
    ),
    ("defer if false", "{ item(id: 1) { id ... @defer(if: false) { name } } }", {}),
    (
        "defer if variable",
        "query ($d: Boolean!) { item(id: 1) { id ... @defer(if: $d) { name } } }",
        {"d": False},
    ),
    (
        "defer if variable true",
        "query ($d: Boolean!) { item(id: 1) { id ...F @defer(if: $d) } }"
        " fragment F on Item { name }",
        {"d": True},
    ),
    ("error in deferred", '{ item(id: 3) { id ... @defer(label: "e") { flaky maybe } } }', {}),
    ("null out of deferred", "{ item(id: 2) { id ... @defer { maybe required } } }", {}),
    ("null out of deferred items", "{ items(ids: [1, 3]) { id ... @defer { name } } }", {}),
    (
        "deferred place nulled",
        "{ loose(ids: [2, 1]) { required ... @defer { name } } }",
        {},
    ),
    ("all nulled", "{ items(ids: [1, 2]) { required ... @defer { name } } }", {}),
    ("stream", "{ items(ids: [1, 2, 4, 5]) @stream(initialCount: 2) { id maybe } }", {}),
    (
        "stream label and errors",
        '{ loose(ids: [1, 0, 3, 4]) @stream(initialCount: 2, label: "s") { id name } }',
        {},
    ),
    (
        "null out of streamed items",
        "{ items(ids: [1, 2, 3]) @stream(initialCount: 1) { id required } }",
        {},
    ),
    (
        "stream count variable",
        "query ($n: Int!) { items(ids: [1, 2, 3]) @stream(initialCount: $n) { id } }",
        {"n": 1},
    ),
    ("stream leaves", "{ colours(filter: {colour: RED}) @stream(initialCount: 0) }", {}),
    (
        "defer in list items",
        '{ items(ids: [1, 2, 4]) { id ... @defer(label: "each") { name child { id } } } }',
        {},
    ),
    (
        "nested defer",
        '{ item(id: 1) { id ... @defer(label: "outer") { name child { id'
        ' ... @defer(label: "inner") { name child { id } } } } } }',
        {},
    ),
    (
        "nested defer in a nulled part",
        '{ item(id: 2) { id ... @defer(label: "outer") { required child { id'
        ' ... @defer(label: "inner") { name } } } } }',
        {},
    ),
    (
        "nested defer in nulled items",
        "{ items(ids: [1, 2, 3]) @stream(initialCount: 1) { id required"
        ' ... @defer(label: "in") { name } } }',
        {},
    ),
    ("defer on the root", '{ ... @defer(label: "root") { timed } item(id: 1) { id } }', {}),
    (
        "defer in streamed items",
        '{ items(ids: [1, 2, 4]) @stream(initialCount: 1) { id ... @defer(label: "d") { name } } }',
        {},
    ),
]


async def planned(
    query: str, variables: dict[str, object], context: object = None
) -> ExecutionResult | Incremental:
    assert not validate(SCHEMA._schema, parse(query))
    document, operation, coerced, conditions = planning(query, variables)
    plan = build_plan(SCHEMA._schema, document, operation, conditions, incremental=True)
    return await execute_incrementally(SCHEMA, operation, plan, coerced, context)


async def planned_payloads(query: str, variables: dict[str, object]) -> tuple[Json, list[Json]]:
    """The planned executor's payloads, as sent."""
    result = await planned(query, variables)
    if isinstance(result, ExecutionResult):
        return dict(result.formatted), []
    return result.initial_payload(), [payload.wire() async for payload in result.subsequent]


async def reference_payloads(query: str, variables: dict[str, object]) -> tuple[Json, list[Json]]:
    """graphql-core's payloads, in deferSpec=20220824's shape."""
    outcome = experimental_execute_incrementally(
        SCHEMA._schema, parse(query), variable_values=variables
    )
    if isawaitable(outcome):
        outcome = await outcome
    if isinstance(outcome, ExecutionResult):
        return dict(outcome.formatted), []
    assert isinstance(outcome, ExperimentalIncrementalExecutionResults)
    raw = [payload.formatted async for payload in outcome.subsequent_results]
    return to_20220824(dict(outcome.initial_result.formatted), [dict(each) for each in raw])


def to_20220824(initial: Json, subsequent: list[Json]) -> tuple[Json, list[Json]]:
    """graphql-core's `pending`/`completed` format as Apollo Router's 2022-08-24 one.

    A deferred fragment's data, split by `subPath`, is one entry again; a
    fragment completed with errors is `"data": null` with them; a stream's
    items are entries from the index they start at, a stream that failed ends
    with `"items": null` and its errors.
    """
    pending: dict[str, Json] = {}
    delivered: dict[str, int] = {}
    first = {key: value for key, value in initial.items() if key != "pending"}
    for announced in initial.get("pending", []):
        pending[announced["id"]] = announced
    payloads = []
    for payload in subsequent:
        for announced in payload.get("pending", []):
            pending[announced["id"]] = announced
        fragments: dict[str, Json] = {}
        entries: list[Json] = []
        for increment in payload.get("incremental", []):
            announced = pending[increment["id"]]
            entry: Json
            if "items" in increment:
                start = delivered.get(increment["id"], count_at(first, entries, announced))
                delivered[increment["id"]] = start + len(increment["items"])
                entry = {"items": increment["items"], "path": [*announced["path"], start]}
                entries.append(entry)
            else:
                entry = fragments.get(increment["id"]) or {"data": {}, "path": announced["path"]}
                if increment["id"] not in fragments:
                    fragments[increment["id"]] = entry
                    entries.append(entry)
                place = entry["data"]
                for key in increment.get("subPath", []):
                    place = place.setdefault(key, {})
                place.update(increment["data"])
            if "label" in announced:
                entry["label"] = announced["label"]
            if increment.get("errors"):
                entry.setdefault("errors", []).extend(increment["errors"])
        for completed in payload.get("completed", []):
            announced = pending[completed["id"]]
            if "errors" not in completed:
                continue
            failed: Json
            if completed["id"] in delivered or kind_of(announced, first) == "stream":
                start = delivered.get(completed["id"], count_at(first, entries, announced))
                failed = {"items": None, "path": [*announced["path"], start]}
            else:
                failed = {"data": None, "path": announced["path"]}
            failed["errors"] = completed["errors"]
            if "label" in announced:
                failed["label"] = announced["label"]
            entries.append(failed)
        payloads.append({"incremental": entries, "hasNext": payload["hasNext"]})
    return first, payloads


def kind_of(announced: Json, initial: Json) -> str:
    return "stream" if isinstance(at(initial["data"], announced["path"]), list) else "defer"


def count_at(initial: Json, entries: list[Json], announced: Json) -> int:
    found = at(initial["data"], announced["path"])
    return len(found) if isinstance(found, list) else 0


def at(data: object, path: Sequence[str | int]) -> object:
    for key in path:
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and isinstance(key, int) and key < len(data):
            data = data[key]
        else:
            return None
    return data


def merge(into: object, data: object) -> object:
    if isinstance(into, dict) and isinstance(data, dict):
        for key, value in data.items():
            into[key] = merge(into[key], value) if key in into else value
        return into
    if isinstance(into, list) and isinstance(data, list) and len(into) == len(data):
        return [merge(a, b) for a, b in zip(into, data, strict=True)]
    return data


def assembled(initial: Json, payloads: list[Json]) -> tuple[object, dict[Key, list[str]]]:
    """The result a client puts together, and each part's errors (message and path)."""
    data = copy.deepcopy(initial.get("data"))
    parts: dict[Key, list[str]] = {}
    for payload in payloads:
        for entry in payload["incremental"]:
            path = tuple(entry["path"])
            key: Key
            if "items" in entry:
                key = (path[:-1], entry.get("label"))
                target = at(data, path[:-1])
                assert isinstance(target, list)
                assert len(target) == path[-1], "items arrive in order, from where they start"
                target.extend(entry["items"] or [])
            else:
                key = (path, entry.get("label"))
                if entry["data"] is not None:
                    merge(at(data, path), entry["data"])
            errors = [f"{error['message']} at {error['path']}" for error in entry.get("errors", [])]
            parts.setdefault(key, []).extend(errors)
    return data, {key: sorted(errors) for key, errors in parts.items()}


def entries_of(payloads: Sequence[Json]) -> list[Json]:
    return [entry for payload in payloads for entry in payload["incremental"]]


def plain_errors(initial: Json) -> list[str]:
    return sorted(f"{error['message']} at {error['path']}" for error in initial.get("errors", []))


@pytest.mark.parametrize(
    ("query", "variables"), [case[1:] for case in CASES], ids=[c[0] for c in CASES]
)
async def test_answers_as_graphql_core(query: str, variables: dict[str, object]) -> None:
    initial, payloads = await planned_payloads(query, variables)
    reference_initial, reference = await reference_payloads(query, variables)

    assert assembled(initial, payloads) == assembled(reference_initial, reference)
    assert initial["data"] == reference_initial["data"]
    assert plain_errors(initial) == plain_errors(reference_initial)
    assert ("hasNext" in initial) == bool(reference)
    if payloads:
        assert [payload["hasNext"] for payload in payloads] == [True] * (len(payloads) - 1) + [
            False
        ]


async def test_deferred_parts_are_left_out_and_sent_with_their_label() -> None:
    initial, payloads = await planned_payloads(
        '{ item(id: 1) { id ... @defer(label: "rest") { name } } }', {}
    )

    assert initial == {"data": {"item": {"id": 1}}, "hasNext": True}
    assert payloads == [
        {
            "incremental": [{"data": {"name": "item 1"}, "path": ["item"], "label": "rest"}],
            "hasNext": False,
        }
    ]


async def test_an_error_stays_in_its_part_and_a_null_nulls_the_part() -> None:
    initial, payloads = await planned_payloads(
        '{ item(id: 3) { id ... @defer { flaky } ... @defer(label: "n") { name } } }', {}
    )

    assert "errors" not in initial
    entries = sorted(entries_of(payloads), key=lambda entry: str(entry.get("label")))
    assert entries == [
        {
            "data": {"flaky": None},
            "path": ["item"],
            "errors": [
                {
                    "message": "item 3 is flaky",
                    "locations": [{"line": 1, "column": 33}],
                    "path": ["item", "flaky"],
                }
            ],
        },
        {
            "data": None,
            "path": ["item"],
            "label": "n",
            "errors": [
                {
                    "message": "item 3 has no name",
                    "locations": [{"line": 1, "column": 66}],
                    "path": ["item", "name"],
                }
            ],
        },
    ]


async def test_stream_sends_the_first_items_then_the_rest() -> None:
    initial, payloads = await planned_payloads(
        "{ items(ids: [1, 2, 4, 5]) @stream(initialCount: 2) { id } }", {}
    )

    assert initial == {"data": {"items": [{"id": 1}, {"id": 2}]}, "hasNext": True}
    assert payloads == [
        {"incremental": [{"items": [{"id": 4}, {"id": 5}], "path": ["items", 2]}], "hasNext": False}
    ]


class Released:
    """A context whose `Item.later` answers only once `release` is set."""

    def __init__(self) -> None:
        self.release = asyncio.Event()


async def test_the_initial_payload_does_not_wait_for_deferred_parts() -> None:
    context = Released()
    result = await planned("{ item(id: 1) { id ... @defer { later } } }", {}, context)

    assert isinstance(result, Incremental)
    assert result.initial.data == {"item": {"id": 1}}
    context.release.set()
    assert [payload.wire() async for payload in result.subsequent] == [
        {"incremental": [{"data": {"later": "later 1"}, "path": ["item"]}], "hasNext": False}
    ]


async def test_closing_the_stream_early_cancels_deferred_work() -> None:
    context = Released()
    result = await planned("{ item(id: 1) { id ... @defer { later } } }", {}, context)
    assert isinstance(result, Incremental)
    deferred = [task for task in asyncio.all_tasks() if "_conclude" in repr(task.get_coro())]
    assert deferred
    assert not any(task.done() for task in deferred)

    await result.aclose()
    await asyncio.sleep(0)

    assert all(task.cancelled() for task in deferred)


class Friends:
    """A request's loader of friends, recording each batch it sends."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.friends = BatchLoader("friends", self._batch, None, asyncio.get_running_loop())

    async def _batch(self, ids: list[int]) -> list[Item]:
        self.batches.append(sorted(ids))
        return [Item(id=100 + each) for each in ids]


async def test_loaders_batch_across_deferred_parts_and_the_initial_payload() -> None:
    context = Friends()
    result = await planned(
        '{ a: item(id: 1) { ... @defer(label: "a") { friend { id } } }'
        ' b: item(id: 2) { ... @defer(label: "b") { friend { id } } }'
        " c: item(id: 4) { friend { id } } }",
        {},
        context,
    )

    assert isinstance(result, Incremental)
    payloads = [payload.wire() async for payload in result.subsequent]
    entries = sorted(entries_of(payloads), key=lambda entry: str(entry["label"]))
    assert [entry["data"] for entry in entries] == [
        {"friend": {"id": 101}},
        {"friend": {"id": 102}},
    ]
    assert result.initial.data == {"a": {}, "b": {}, "c": {"friend": {"id": 104}}}
    assert context.batches == [[1, 2, 4]]


async def test_loaders_batch_across_streamed_items() -> None:
    context = Friends()
    result = await planned(
        "{ items(ids: [1, 2, 4]) @stream(initialCount: 1) { friend { id } } }", {}, context
    )

    assert isinstance(result, Incremental)
    assert [payload.wire() async for payload in result.subsequent] == [
        {
            "incremental": [
                {"items": [{"friend": {"id": 102}}, {"friend": {"id": 104}}], "path": ["items", 1]}
            ],
            "hasNext": False,
        }
    ]
    assert context.batches == [[1, 2, 4]]


async def test_ordinary_plans_answer_deferred_fragments_inline() -> None:
    query = (
        "{ item(id: 1) { id ... @defer { name } }"
        " items(ids: [1, 2]) @stream(initialCount: 1) { id } }"
    )
    document = parse(query)
    operation = get_operation_ast(document)
    assert operation is not None

    ordinary = build_plan(SCHEMA._schema, document, operation, {})
    incremental = build_plan(SCHEMA._schema, document, operation, {}, incremental=True)

    item = ordinary.fields[0].child
    assert item is not None
    assert [field.key for field in item.fields] == ["id", "name"]
    assert not item.deferred
    assert ordinary.fields[1].stream is None
    deferred = incremental.fields[0].child
    assert deferred is not None
    assert [field.key for field in deferred.fields] == ["id"]
    assert [field.key for field in deferred.deferred[0].plan.fields] == ["name"]
    assert incremental.fields[1].stream is not None
    assert incremental.fields[1].stream.initial_count == 1
