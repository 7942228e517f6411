"""Running execution plans (`bff.execution.plan`): a lean executor for planned queries.

Walks the plan level by level, each field resolved on every object of its
level at once, with GraphQL's semantics kept (see docs/execution.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from contextvars import copy_context
from inspect import isawaitable, iscoroutine
from types import CoroutineType
from typing import Any, cast

import strawberry
from graphql import (
    GraphQLError,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    OperationDefinitionNode,
    located_error,
)
from graphql.execution.values import VariableValues, get_argument_values
from graphql.pyutils import Path
from opentelemetry.trace import Tracer
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.arguments import convert_arguments

from bff.execution.columns import Column
from bff.execution.plan import FieldPlan, ObjectPlan, Resolution, Shape
from resolvers.paths import FIELD_PATH

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
"""GraphQL's Int: values outside go through its serializer, which refuses them."""
_PLAIN = frozenset({str, int, float, bool, type(None), list, tuple, dict})


class _Failed:
    """A resolver's exception, kept in the value's place until completion."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


_Settling = list[tuple[int, Coroutine[Any, Any, list[object]]]]
"""Fields of a level still being resolved: their place among the level's trees, and their wait."""

_ERRORED = object()
"""A field whose error is already recorded: null, without a second error."""
_PROPAGATE = object()
"""Null in a non-null position: the nearest nullable parent becomes null."""


class _Object:
    """An object awaiting its fields: its source value, path and (later) result."""

    __slots__ = ("path", "result", "source")

    def __init__(self, source: object, path: tuple[str | int, ...]) -> None:
        self.source = source
        self.path = path
        self.result: dict[str, object] | None = None


class PlannedExecution:
    """One request's run of one plan."""

    def __init__(
        self,
        schema: strawberry.Schema,
        operation: OperationDefinitionNode,
        variables: VariableValues,
        context: object,
        *,
        tracer: Tracer | None = None,
    ) -> None:
        self.errors: list[GraphQLError] = []
        self._tracer = tracer
        self._strawberry = schema
        self._schema: GraphQLSchema = schema._schema
        self._operation = operation
        self._variables = variables
        self._context = context
        self._kwargs: dict[int, dict[str, Any] | GraphQLError] = {}
        self._loop = asyncio.get_running_loop()

    async def run(self, plan: ObjectPlan) -> dict[str, object] | None:
        root = _Object(None, ())
        await self._execute(plan, [root])
        return root.result

    async def _execute(self, plan: ObjectPlan, objects: list[_Object]) -> None:
        trees, settling = self._start(plan, objects)
        await self._conclude(plan, objects, trees, settling)

    async def _conclude(
        self,
        plan: ObjectPlan,
        objects: list[_Object],
        trees: list[list[object]],
        settling: _Settling,
    ) -> None:
        """Wait for what `_start` left running, then put the level's values in place."""
        if settling:
            await self._join(trees, settling)
        self._assemble(plan, objects, trees)

    def _start(
        self, plan: ObjectPlan, objects: list[_Object]
    ) -> tuple[list[list[object]], _Settling]:
        """Resolve every field of a level, at once: the trees done, and the fields to wait for."""
        trees: list[list[object]] = []
        settling: _Settling = []
        for field in plan.fields:
            column = self._resolve(plan, field, objects)
            if not column.pending and (field.child is None or field.child.static):
                # Its values are in, and so are its children's: done here, no task.
                found: list[_Object] = []
                trees.append(self._completed(field, _outcomes(column), objects, found))
                if found and field.child is not None:
                    self._run_static(field.child, found)
            else:
                trees.append([])
                settling.append((len(trees) - 1, self._settle(field, column, objects)))
        return trees, settling

    async def _join(self, trees: list[list[object]], settling: _Settling) -> None:
        """Wait for the fields `_start` left running, each going on in a task of its own."""
        fields = Column([None] * len(settling), self._loop)
        for index, (_, settle) in enumerate(settling):
            fields.start(index, settle, copy_context())
        await fields.settled()
        for (position, _), tree in zip(settling, fields.values, strict=True):
            if isinstance(tree, BaseException):
                raise tree
            trees[position] = cast(list[object], tree)

    def _run_static(self, plan: ObjectPlan, objects: list[_Object]) -> None:
        """`_execute` for a plan whose every field is read off its object (`plan.static`)."""
        trees: list[list[object]] = []
        for field in plan.fields:
            found: list[_Object] = []
            column = self._resolve(plan, field, objects)
            trees.append(self._completed(field, column.values, objects, found))
            if found and field.child is not None:
                self._run_static(field.child, found)
        self._assemble(plan, objects, trees)

    def _assemble(
        self, plan: ObjectPlan, objects: list[_Object], trees: list[list[object]]
    ) -> None:
        """Each object's result from its fields' trees, non-null rules applied."""
        for position, obj in enumerate(objects):
            result: dict[str, object] | None = {}
            for field, tree in zip(plan.fields, trees, strict=True):
                value = tree[position]
                shape = field.shape
                if shape is not None and type(value) is not shape.passthrough:
                    value = self._finish(field, shape, value, obj.path, field.key)
                if value is _PROPAGATE:
                    result = None
                    break
                result[field.key] = value  # type: ignore[index]
            obj.result = result

    async def _settle(
        self,
        field: FieldPlan,
        column: Column,
        objects: list[_Object],
    ) -> list[object]:
        """Wait for one field's values on every object, then run its sub-selection.

        Each field goes on as soon as its own values are in: one slow field
        does not hold up its siblings' sub-selections. Loads made by one
        field's objects still share their batches.
        """
        await column.settled()
        found: list[_Object] = []
        tree = self._completed(field, _outcomes(column), objects, found)
        if found and field.child is not None:
            await self._execute(field.child, found)
        return tree

    def _completed(
        self,
        field: FieldPlan,
        column: list[object],
        objects: list[_Object],
        found: list[_Object],
    ) -> list[object]:
        shape = field.shape
        if shape is None:
            return column
        key = field.key
        passthrough = shape.passthrough
        complete = self._complete
        if passthrough is int:
            return [
                value
                if type(value) is int and INT_MIN <= value <= INT_MAX
                else complete(field, shape, value, obj.path, key, found)
                for obj, value in zip(objects, column, strict=True)
            ]
        return [
            value
            if type(value) is passthrough
            else complete(field, shape, value, obj.path, key, found)
            for obj, value in zip(objects, column, strict=True)
        ]

    def _resolve(self, plan: ObjectPlan, field: FieldPlan, objects: list[_Object]) -> Column:
        """The field's value on every object: values, failures, or coroutines under way.

        A resolver reads its object's path to the field from `FIELD_PATH`, in
        the context its task runs in (`bff.execution.columns`).
        """
        resolution = field.resolution
        if resolution is Resolution.TYPENAME:
            return Column([plan.type.name] * len(objects), self._loop)
        if resolution is Resolution.ATTRIBUTE:
            name = field.python_name
            return Column([getattr(obj.source, name) for obj in objects], self._loop)
        kwargs = self._arguments(field)
        if isinstance(kwargs, GraphQLError):
            return Column([_Failed(kwargs)] * len(objects), self._loop)
        key = field.key
        paths = [(*obj.path, key) for obj in objects]
        if resolution is Resolution.BATCH and self._tracer is None:
            return self._batch(field, objects, paths, kwargs)
        method = field.method if resolution is not Resolution.WRAPPED else None
        column = Column([None] * len(objects), self._loop)
        values = column.values
        for index, (obj, path) in enumerate(zip(objects, paths, strict=True)):
            context = copy_context()
            context.run(FIELD_PATH.set, path)
            value: object
            try:
                if self._tracer is not None:
                    value = context.run(self._traced, field, obj, kwargs)
                elif method is not None:
                    value = context.run(method, obj.source, **kwargs)
                else:
                    value = context.run(self._wrapped, field, obj)
            except Exception as error:  # a resolver's failure is its field's error
                values[index] = _Failed(error)
                continue
            if type(value) is not CoroutineType and (
                type(value) in _PLAIN or not isawaitable(value)
            ):
                values[index] = value
                continue
            column.start(index, value if type(value) is CoroutineType else _awaited(value), context)
        return column

    def _batch(
        self,
        field: FieldPlan,
        objects: list[_Object],
        paths: list[tuple[str | int, ...]],
        kwargs: dict[str, Any],
    ) -> Column:
        """The field on every object by one call of its batch form (`schema.batching`)."""
        assert field.batch is not None
        column = Column([None] * len(objects), self._loop)
        context = copy_context()
        try:
            answer = context.run(field.batch, [obj.source for obj in objects], paths, **kwargs)
        except Exception as error:  # a resolver's failure is its field's error
            return Column([_Failed(error)] * len(objects), self._loop)
        column.start_all(answer, context)
        return column

    async def _traced(self, field: FieldPlan, obj: _Object, kwargs: dict[str, Any]) -> object:
        """One resolver call in a span of its own (only when resolver spans are on)."""
        assert self._tracer is not None
        path = ".".join(str(key) for key in (*obj.path, field.key))
        with self._tracer.start_as_current_span(
            f"resolve {field.parent.name}.{field.name}",
            attributes={"graphql.field.name": field.name, "graphql.field.path": path},
        ):
            if field.resolution is Resolution.METHOD:
                assert field.method is not None
                value = field.method(obj.source, **kwargs)
            else:
                value = self._wrapped(field, obj)
            return await value if isawaitable(value) else value

    def _arguments(self, field: FieldPlan) -> dict[str, Any] | GraphQLError:
        """The field's Python keyword arguments, the same for every object of a request."""
        known = self._kwargs.get(id(field))
        if known is not None:
            return known
        try:
            kwargs: dict[str, Any] = {}
            if field.has_arguments:
                assert field.definition is not None
                raw = get_argument_values(field.definition, field.nodes[0], self._variables)
                kwargs = convert_arguments(
                    raw,
                    list(field.arguments),  # type: ignore[arg-type]
                    scalar_registry=self._strawberry.schema_converter.scalar_registry,
                    config=self._strawberry.config,
                )
            if field.takes_info:
                kwargs[field.takes_info] = strawberry.Info(
                    _raw_info=self._info(field, None),
                    _field=field.definition.extensions["strawberry-definition"],  # type: ignore[union-attr]
                )
        except GraphQLError as error:
            self._kwargs[id(field)] = error
            return error
        self._kwargs[id(field)] = kwargs
        return kwargs

    def _wrapped(self, field: FieldPlan, obj: _Object) -> object:
        """Resolve through Strawberry's own wrapper, as graphql-core would."""
        assert field.definition is not None
        assert field.definition.resolve is not None
        raw = get_argument_values(field.definition, field.nodes[0], self._variables)
        return field.definition.resolve(obj.source, self._info(field, obj.path), **raw)

    def _info(
        self, field: FieldPlan, path: tuple[str | int, ...] | None
    ) -> GraphQLResolveInfo[object]:
        graphql_path = None
        if path is not None:
            for key in (*path, field.key):
                graphql_path = Path(graphql_path, key, None)
        assert field.type is not None
        return GraphQLResolveInfo(
            field.name,
            list(field.nodes),
            field.type,
            field.parent,
            graphql_path,  # type: ignore[arg-type]
            self._schema,
            {},
            None,
            self._operation,
            # Strawberry's resolvers expect the coerced values, as its executor gives them.
            self._variables.coerced,  # type: ignore[arg-type]
            self._context,
            isawaitable,  # type: ignore[arg-type]
            None,
            None,  # type: ignore[arg-type]
        )

    def _complete(
        self,
        field: FieldPlan,
        shape: Shape,
        value: object,
        parent: tuple[str | int, ...],
        key: str | int,
        found: list[_Object],
    ) -> object:
        """First pass: leaves become JSON, objects become `_Object`s queued for their plan.

        The value's path is `(*parent, key)`, made only when it is needed.
        """
        if type(value) is _Failed:
            self._error(value.error, field, (*parent, key))
            return _ERRORED
        if value is None:
            return None
        leaf = shape.leaf
        if leaf is not None:
            if type(value) is shape.passthrough and (
                type(value) is not int or INT_MIN <= value <= INT_MAX
            ):
                return value
            try:
                return leaf.serialize(value)
            except Exception as error:  # a value the type refuses is its field's error
                self._error(error, field, (*parent, key))
                return _ERRORED
        item = shape.item
        if item is None:
            obj = _Object(value, (*parent, key))
            found.append(obj)
            return obj
        if isinstance(value, str | bytes | Mapping) or not hasattr(value, "__iter__"):
            self._error(
                GraphQLError(
                    "Expected Iterable, but did not find one for field"
                    f" '{field.parent.name}.{field.name}'."
                ),
                field,
                (*parent, key),
            )
            return _ERRORED
        path = (*parent, key)
        complete = self._complete
        return [complete(field, item, each, path, index, found) for index, each in enumerate(value)]

    def _finish(
        self,
        field: FieldPlan,
        shape: Shape,
        tree: object,
        parent: tuple[str | int, ...],
        key: str | int,
    ) -> object:
        """Second pass, once the children ran: apply non-null rules bottom up."""
        value: object
        if type(tree) is _Object:
            value = tree.result
        elif tree is _ERRORED or tree is None:
            value = None
        elif shape.item is not None and type(tree) is list:
            path = (*parent, key)
            item = shape.item
            finish = self._finish
            items = [finish(field, item, each, path, index) for index, each in enumerate(tree)]
            value = None if any(each is _PROPAGATE for each in items) else items
        else:
            value = tree
        if value is None and shape.nonnull:
            if tree is None:
                where = f"{field.parent.name}.{field.name}"
                message = f"Cannot return null for non-nullable field {where}."
                self.errors.append(GraphQLError(message, list(field.nodes), path=[*parent, key]))
            return _PROPAGATE
        return value

    def _error(self, error: Exception, field: FieldPlan, path: tuple[str | int, ...]) -> None:
        self.errors.append(located_error(error, list(field.nodes), list(path)))


def _outcomes(column: Column) -> list[object]:
    """A settled column's values, a coroutine's exception as its field's failure."""
    values = column.values
    if column.failed:
        for index, value in enumerate(values):
            if isinstance(value, BaseException):
                if not isinstance(value, Exception):
                    raise value  # cancelled: the whole execution is
                values[index] = _Failed(value)
    return values


async def _awaited(awaitable: Awaitable[object]) -> object:
    """A resolver's awaitable that is not a coroutine (a future, say), as one."""
    return await awaitable


class PathTrackingExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor as Strawberry sets it up, telling resolvers their path.

    Runs what plans do not (mutations, introspection, or everything when
    planned execution is off). Like the planned executor it sets
    `FIELD_PATH` around each resolver and starts an awaitable result's task
    at once, so the task inherits the path. Serial execution of mutations is
    kept: graphql-core resolves the next root field only after this one.
    """

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        token = FIELD_PATH.set(tuple(path.as_list()))
        try:
            result = super().execute_field(
                parent_type, source, field_details_list, path, position_context
            )
            return asyncio.ensure_future(result) if iscoroutine(result) else result
        finally:
            FIELD_PATH.reset(token)


class SubscriptionExecutor(PathTrackingExecutor):
    """Runs each event of a subscription with a context of its own.

    The subscription's source stream lives as long as the subscription, with
    its own context and no time budget; each event's fields are resolved with
    a fresh context from `event_context`: its own loaders (nothing memoised
    by an earlier event is served stale) and its own time budget.
    """

    def __init__(self, *args: Any, event_context: Callable[[], object], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._event_context = event_context

    def build_per_event_executor(self, payload: Any) -> SubscriptionExecutor:
        executor = super().build_per_event_executor(payload)
        assert isinstance(executor, SubscriptionExecutor)
        executor.context_value = self._event_context()
        return executor
