"""Incremental delivery on the planned executor: `@defer` and `@stream`, deferSpec=20220824.

`execute_incrementally` runs a plan built with `build_plan(..., incremental=True)`
and answers with the shared `Incremental` (`bff.execution.incremental`, whose
docstring is the wire contract): the initial result, then `Subsequent` payloads
whose parts keep their errors as `GraphQLError`s, for the pipeline to format.

It answers as graphql-core 3.3's `experimental_execute_incrementally` does, once
its results are put in that shape:

- a deferred fragment's fields (all of them, those also selected outside it
  included) come in its own entry, one per object it applies to (so one per
  list item for a `@defer` inside a list); `@defer(if: false)` is answered inline;
- errors raised in a deferred fragment or in streamed items are in that entry,
  with their paths; a `null` that propagates out of the fragment's fields nulls
  the fragment's `data` (`"data": null`), and out of streamed items, its `items`;
- a `@stream` list gives its first `initialCount` items in its parent's payload,
  and the rest (resolved at once, as the planned executor resolves lists) in one
  entry; a list no longer than `initialCount` is answered whole;
- an entry whose place was nulled in its parent's payload is not sent, and when
  none is left the answer is a plain result (no `hasNext`);
- a nested `@defer` or `@stream` is sent after its parent's entry, never before
  (in the same payload, when both are ready).

Deferred work starts as soon as its objects are known, in the same tick as its
siblings' fields, not after the initial payload: per-request loaders
(`resolvers.loaders`) batch deferred and non-deferred loads together, and a
fast initial payload does not wait on deferred fields. Each part runs as a task
of its own: `Incremental.pending` lists those not yet sent, so that a deadline
(`Incremental.payloads`) answers them with a coded error. Ordinary plans never
reach this module: the executor's hot path is untouched.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncGenerator, Coroutine, Mapping, Sequence
from contextvars import copy_context
from dataclasses import dataclass, field
from typing import Any

import strawberry
from graphql import ExecutionResult, OperationDefinitionNode, located_error
from graphql.execution.values import VariableValues
from opentelemetry.trace import Tracer

from bff.execution.executor import (
    _PROPAGATE,
    PlannedExecution,
    _Failed,
    _Object,
)
from bff.execution.incremental import Incremental, Part, Path, Pending, Subsequent
from bff.execution.plan import FieldPlan, ObjectPlan, Shape, Stream


async def execute_incrementally(
    schema: strawberry.Schema,
    operation: OperationDefinitionNode,
    plan: ObjectPlan,
    variables: VariableValues,
    context: object,
    *,
    tracer: Tracer | None = None,
) -> ExecutionResult | Incremental:
    """Run `plan` (built with `incremental=True`), delivering deferred parts later.

    Returns a plain `ExecutionResult` when nothing is left to deliver once the
    initial payload is done (nothing deferred, or every deferred part's place
    nulled), else an `Incremental`: its `initial` result at once, and the
    payloads that follow from `subsequent`. Closing it (`aclose`) cancels the
    deferred work still running. See the module's docstring for the semantics.
    """
    state = _State()
    execution = _IncrementalExecution(schema, operation, variables, context, tracer=tracer)
    execution.state = state
    root = _Object(None, ())
    try:
        await execution._execute(plan, [root])
    except BaseException:
        state.cancel()
        raise
    data = root.result
    initial = ExecutionResult(data=data, errors=execution.errors or None)
    waiting = [payload for payload in state.top if _reached(data, payload.target)]
    if not waiting:
        state.cancel()
        return initial
    pending = {payload.key: payload.pending() for payload in waiting}
    payloads = _subsequent(state, waiting, pending)

    async def close() -> None:
        state.cancel()
        await payloads.aclose()

    return Incremental(initial, payloads, pending, close)


async def _subsequent(
    state: _State, waiting: list[_Payload], pending: dict[str, Pending]
) -> AsyncGenerator[Subsequent]:
    """Each payload holds every entry ready by then, a parent's always before its children.

    `pending` follows what is announced and not yet sent, for a deadline to answer.
    """
    try:
        while waiting:
            if not any(payload.part.done for payload in waiting):
                tasks = {payload.part.task for payload in waiting}
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            ready = [payload for payload in waiting if payload.part.done]
            waiting = [payload for payload in waiting if not payload.part.done]
            parts: list[Part] = []
            index = 0
            while index < len(ready):
                payload = ready[index]
                index += 1
                parts.append(payload.sent())
                pending.pop(payload.key, None)
                for child in payload.children:
                    if payload.reaches(child.target):
                        (ready if child.part.done else waiting).append(child)
                        pending[child.key] = child.pending()
            if not waiting:
                state.cancel()  # what is left was dropped: its place is null
            yield Subsequent(tuple(parts), has_next=bool(waiting))
    finally:
        state.cancel()


@dataclass(slots=True)
class _State:
    """One incremental execution's parts, and the payloads sent after the initial one."""

    parts: list[_Part] = field(default_factory=list)
    top: list[_Payload] = field(default_factory=list)

    def cancel(self) -> None:
        for part in self.parts:
            part.task.cancel()


class _Part:
    """Work done apart from its parent's: a deferred fragment on the objects of one level,
    or the rest of a streamed field's lists. Its payloads are one per object or list."""

    __slots__ = ("execution", "payloads", "task")

    def __init__(
        self,
        execution: _IncrementalExecution,
        payloads: Sequence[_Payload],
        task: asyncio.Task[None],
    ) -> None:
        self.execution = execution
        self.payloads = payloads
        self.task = task

    @property
    def done(self) -> bool:
        return self.task.done()

    def failure(self) -> BaseException | None:
        return asyncio.CancelledError() if self.task.cancelled() else self.task.exception()


class _Payload:
    """One entry of a subsequent payload: its place, its label and its nested entries."""

    __slots__ = ("children", "label", "part", "path")

    def __init__(self, path: Path, label: str | None) -> None:
        self.path = path
        self.label = label
        self.children: list[_Payload] = []
        self.part: _Part

    @property
    def key(self) -> str:
        """Its key in `Incremental.pending`."""
        return str(id(self))

    def pending(self) -> Pending:
        """It, as announced and not yet sent."""
        return Pending(self.path, self.label)

    @property
    def target(self) -> Path:
        """Where its parent's data must hold a value for it to be sent."""
        return self.path

    def holds(self, path: Sequence[str | int]) -> bool:
        """Whether `path` is within this entry's data."""
        raise NotImplementedError

    def reaches(self, path: Path) -> bool:
        """Whether this entry's data, as sent, holds a value at `path`."""
        raise NotImplementedError

    def value(self) -> tuple[str, object]:
        raise NotImplementedError

    def sent(self) -> Part:
        """Its entry of `incremental`, errors unformatted."""
        failure = self.part.failure()
        errors = [
            error
            for error in self.part.execution.errors
            if error.path is not None and self.holds(error.path)
        ]
        key, value = self.value()
        if failure is not None:
            value = None
            if not isinstance(failure, Exception):
                failure = RuntimeError("the deferred part was cancelled")
            errors.append(located_error(failure, None, list(self.path)))
        if key == "items":
            items = value if isinstance(value, list) else None
            return Part(self.path, items=items, streamed=True, label=self.label, errors=(*errors,))
        data = value if isinstance(value, dict) else None
        return Part(self.path, data=data, label=self.label, errors=(*errors,))


class _Deferred(_Payload):
    __slots__ = ("object",)

    def __init__(self, obj: _Object, label: str | None) -> None:
        super().__init__(obj.path, label)
        self.object = obj

    def holds(self, path: Sequence[str | int]) -> bool:
        return tuple(path[: len(self.path)]) == self.path

    def reaches(self, path: Path) -> bool:
        return _reached(self.object.result, path[len(self.path) :])

    def value(self) -> tuple[str, object]:
        return "data", self.object.result


class _Streamed(_Payload):
    __slots__ = ("items", "list_path", "trees")

    def __init__(self, list_path: Path, start: int, label: str | None, trees: list[object]):
        super().__init__((*list_path, start), label)
        self.list_path = list_path
        self.trees = trees
        self.items: list[object] | None = None

    @property
    def target(self) -> Path:
        return self.list_path

    def pending(self) -> Pending:
        start = self.path[-1]
        assert isinstance(start, int)
        return Pending(self.list_path, self.label, start)

    def holds(self, path: Sequence[str | int]) -> bool:
        length = len(self.list_path)
        if len(path) <= length or tuple(path[:length]) != self.list_path:
            return False
        index = path[length]
        start = self.path[-1]
        assert isinstance(start, int)
        return isinstance(index, int) and start <= index < start + len(self.trees)

    def reaches(self, path: Path) -> bool:
        start = self.path[-1]
        assert isinstance(start, int)
        index = path[len(self.list_path)]
        assert isinstance(index, int)
        return self.items is not None and _reached(
            self.items[index - start], path[len(self.list_path) + 1 :]
        )

    def value(self) -> tuple[str, object]:
        return "items", self.items


def _reached(data: object, path: Sequence[str | int]) -> bool:
    """Whether `data` holds a value (not null) at `path`."""
    value = data
    for key in path:
        if isinstance(value, Mapping):
            value = value.get(key)
        elif isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
            value = value[key]
        else:
            return False
        if value is None:
            return False
    return value is not None


class _IncrementalExecution(PlannedExecution):
    """A planned execution that sets deferred fragments and streamed items apart.

    Each part runs in an execution of its own (a shallow copy sharing the
    request's arguments and context) so that its errors stay with it.
    """

    state: _State
    owners: Sequence[_Payload] = ()
    """The payloads this execution's work is sent in (none: the initial payload)."""

    def _child(self, owners: Sequence[_Payload]) -> _IncrementalExecution:
        child = copy.copy(self)
        child.errors = []
        child.owners = owners
        return child

    async def _execute(self, plan: ObjectPlan, objects: list[_Object]) -> None:
        await self._begin(plan, objects)

    def _begin(self, plan: ObjectPlan, objects: list[_Object]) -> Coroutine[Any, Any, None]:
        """Resolve a level's fields and start its deferred fragments, now; then wait."""
        trees, settling = self._start(plan, objects)
        if plan.deferred:
            self._defer(plan, objects)
        return self._conclude(plan, objects, trees, settling)

    def _defer(self, plan: ObjectPlan, objects: list[_Object]) -> None:
        """Start each deferred fragment on every object of the level, in one part."""
        for deferred in plan.deferred:
            copies = [_Object(obj.source, obj.path) for obj in objects]
            payloads = [_Deferred(each, deferred.label) for each in copies]
            child = self._child(payloads)
            self._part(child, payloads, child._begin(deferred.plan, copies))

    def _completed(
        self,
        field: FieldPlan,
        column: list[object],
        objects: list[_Object],
        found: list[_Object],
    ) -> list[object]:
        stream = field.stream
        if stream is not None and field.shape is not None and field.shape.item is not None:
            column = self._split(field, stream, field.shape.item, column, objects)
        return super()._completed(field, column, objects, found)

    def _split(
        self,
        field: FieldPlan,
        stream: Stream,
        item: Shape,
        column: list[object],
        objects: list[_Object],
    ) -> list[object]:
        """Each list's first items, for its parent's payload; the rest start streaming."""
        count = stream.initial_count
        values = list(column)
        rests: list[tuple[_Object, list[object]]] = []
        for index, (obj, value) in enumerate(zip(objects, values, strict=True)):
            if value is None or type(value) is _Failed or not _is_list(value):
                continue  # completion reports it as for any list
            try:
                items = list(value)  # type: ignore[call-overload]
            except Exception as error:  # a failing iterable is its field's error
                values[index] = _Failed(error)
                continue
            values[index] = items[:count]
            if len(items) > count:
                rests.append((obj, items[count:]))
        if rests:
            self._stream(field, stream, item, rests)
        return values

    def _stream(
        self,
        field: FieldPlan,
        stream: Stream,
        item: Shape,
        rests: list[tuple[_Object, list[object]]],
    ) -> None:
        """Start completing the rest of a level's streamed lists, in one part."""
        start = stream.initial_count
        payloads = [_Streamed((*obj.path, field.key), start, stream.label, []) for obj, _ in rests]
        child = self._child(payloads)
        found: list[_Object] = []
        for payload, (_, items) in zip(payloads, rests, strict=True):
            path = payload.list_path
            payload.trees = [
                child._complete(field, item, each, path, start + index, found)
                for index, each in enumerate(items)
            ]
        children = child._begin(field.child, found) if found and field.child is not None else None
        self._part(child, payloads, child._streamed(field, item, payloads, children))

    async def _streamed(
        self,
        field: FieldPlan,
        item: Shape,
        payloads: list[_Streamed],
        children: Coroutine[Any, Any, None] | None,
    ) -> None:
        if children is not None:
            await children
        for payload in payloads:
            start = payload.path[-1]
            assert isinstance(start, int)
            items = [
                self._finish(field, item, tree, payload.list_path, start + index)
                for index, tree in enumerate(payload.trees)
            ]
            payload.items = None if any(each is _PROPAGATE for each in items) else items

    def _part(
        self,
        child: _IncrementalExecution,
        payloads: Sequence[_Payload],
        work: Coroutine[Any, Any, None],
    ) -> None:
        part = _Part(child, payloads, self._loop.create_task(work, context=copy_context()))
        self.state.parts.append(part)
        for payload in payloads:
            payload.part = part
            parent = next((owner for owner in self.owners if owner.holds(payload.path)), None)
            if parent is not None:
                parent.children.append(payload)
            else:
                self.state.top.append(payload)


def _is_list(value: object) -> bool:
    return not isinstance(value, str | bytes | Mapping) and hasattr(value, "__iter__")
