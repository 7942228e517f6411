"""Execution plans: what a validated query asks of each type, worked out once.

`bff.execution.executor` runs plans; `plannable` tells which operations it can
run (see docs/execution.md, Execution plans). An ordinary plan answers `@defer`
fragments inline and `@stream` lists whole; a plan built with `incremental=True`
keeps them apart, for `bff.execution.incremental` to deliver later.
"""

from __future__ import annotations

import builtins
import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from graphql import (
    BooleanValueNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    get_named_type,
    is_leaf_type,
)

from bff.execution.documents import fragments_of
from schema.batching import BatchForm, batch_form


class Resolution(enum.Enum):
    TYPENAME = "typename"
    ATTRIBUTE = "attribute"
    METHOD = "method"
    BATCH = "batch"
    WRAPPED = "wrapped"


@dataclass(frozen=True, slots=True)
class Shape:
    """A field's output type as completion needs it, worked out once.

    A list (`item` is its items' shape), a leaf (`leaf` serializes it;
    values of type `passthrough` are their own JSON, an int within GraphQL's
    32 bits), or else an object.
    """

    nonnull: bool
    item: Shape | None = None
    leaf: GraphQLLeafType | None = None
    passthrough: builtins.type | None = None


def shape_of(type_: GraphQLOutputType) -> Shape:
    nonnull = isinstance(type_, GraphQLNonNull)
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if isinstance(type_, GraphQLList):
        return Shape(nonnull, item=shape_of(type_.of_type))
    if isinstance(type_, GraphQLLeafType):
        return Shape(nonnull, leaf=type_, passthrough=_passthrough(type_))
    return Shape(nonnull)


@dataclass(frozen=True, slots=True)
class Stream:
    """A field's `@stream`: its first `initial_count` items go in the parent's payload."""

    label: str | None
    initial_count: int


@dataclass(frozen=True, slots=True)
class FieldPlan:
    key: str
    name: str
    nodes: tuple[FieldNode, ...]
    parent: GraphQLObjectType
    definition: GraphQLField | None
    type: GraphQLOutputType | None
    resolution: Resolution
    python_name: str
    method: Callable[..., object] | None
    takes_info: str | None
    """The name of the resolver's `info` parameter, when it has one."""
    arguments: tuple[object, ...]
    """The field's Strawberry arguments, for converting argument values."""
    has_arguments: bool
    child: ObjectPlan | None
    shape: Shape | None = None
    """None for `__typename`."""
    batch: BatchForm | None = None
    """The resolver's batch form (`schema.batching`), for `Resolution.BATCH`."""
    stream: Stream | None = None
    """Its active `@stream`, in incremental plans only."""


@dataclass(frozen=True, slots=True)
class ObjectPlan:
    type: GraphQLObjectType
    fields: tuple[FieldPlan, ...]
    static: bool = False
    """Every field is read off its object, all the way down: nothing to wait for."""
    deferred: tuple[Deferred, ...] = ()
    """Its active `@defer` fragments, in incremental plans only."""


@dataclass(frozen=True, slots=True)
class Deferred:
    """A `@defer` fragment: every field it selects, on the same objects, in a payload of its own."""

    label: str | None
    plan: ObjectPlan


def build_plan(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    conditions: Mapping[str, object],
    *,
    incremental: bool = False,
) -> ObjectPlan:
    """The plan for `operation`, given the values of the variables its directives name.

    With `incremental`, active `@defer` fragments and `@stream` fields are kept
    apart (`ObjectPlan.deferred`, `FieldPlan.stream`); otherwise they are
    answered inline, as a client that did not ask for increments expects.
    """
    root = schema.query_type
    assert root is not None
    builder = _Builder(schema, fragments_of(document), conditions, incremental)
    return builder.object_plan(root, [operation.selection_set])


class _Builder:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        conditions: Mapping[str, object],
        incremental: bool = False,
    ) -> None:
        self._schema = schema
        self._fragments = fragments
        self._conditions = conditions
        self._incremental = incremental

    def object_plan(
        self, type_: GraphQLObjectType, selection_sets: Iterable[SelectionSetNode]
    ) -> ObjectPlan:
        grouped: dict[str, list[FieldNode]] = {}
        later: list[tuple[str | None, SelectionSetNode]] = []
        for selection_set in selection_sets:
            self._collect(selection_set, grouped, later)
        fields = tuple(self._field(type_, key, nodes) for key, nodes in grouped.items())
        deferred = tuple(
            Deferred(label, self.object_plan(type_, [selection_set]))
            for label, selection_set in later
        )
        static = not deferred and all(
            field.resolution in (Resolution.ATTRIBUTE, Resolution.TYPENAME)
            and (field.child is None or field.child.static)
            for field in fields
        )
        return ObjectPlan(type_, fields, static, deferred)

    def _collect(
        self,
        selection_set: SelectionSetNode,
        grouped: dict[str, list[FieldNode]],
        later: list[tuple[str | None, SelectionSetNode]],
    ) -> None:
        for selection in selection_set.selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                grouped.setdefault(key, []).append(selection)
                continue
            if isinstance(selection, InlineFragmentNode):
                fragment_set = selection.selection_set
            elif isinstance(selection, FragmentSpreadNode):
                fragment_set = self._fragments[selection.name.value].selection_set
            else:
                continue
            defer = self._directive(selection, "defer") if self._incremental else None
            if defer is not None:
                later.append((_string(defer.get("label")), fragment_set))
            else:
                self._collect(fragment_set, grouped, later)

    def _directive(self, node: SelectionNode, name: str) -> dict[str, object] | None:
        """An active `@defer` or `@stream` on `node`: its arguments' values, else None."""
        for directive in node.directives or ():
            if directive.name.value != name:
                continue
            arguments = {
                argument.name.value: self._value(argument.value)
                for argument in directive.arguments or ()
            }
            return arguments if arguments.get("if", True) is not False else None
        return None

    def _value(self, value: ValueNode) -> object:
        if isinstance(value, VariableNode):
            return self._conditions.get(value.name.value)
        if isinstance(value, BooleanValueNode):
            return value.value
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, StringValueNode):
            return value.value
        return None

    def _included(self, node: SelectionNode) -> bool:
        # The schema has object types only, so a validated fragment always applies.
        for directive in node.directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                continue
            value = (directive.arguments or ())[0].value
            condition = (
                bool(self._conditions.get(value.name.value))
                if isinstance(value, VariableNode)
                else isinstance(value, BooleanValueNode) and value.value
            )
            if (name == "skip") == condition:
                return False
        return True

    def _field(self, parent: GraphQLObjectType, key: str, nodes: list[FieldNode]) -> FieldPlan:
        name = nodes[0].name.value
        if name == "__typename":
            return FieldPlan(
                key,
                name,
                tuple(nodes),
                parent,
                None,
                None,
                Resolution.TYPENAME,
                name,
                None,
                None,
                (),
                False,
                None,
            )
        definition = parent.fields[name]
        named: GraphQLNamedType = get_named_type(definition.type)
        child = None
        if not is_leaf_type(named):
            assert isinstance(named, GraphQLObjectType)
            child = self.object_plan(
                named, [node.selection_set for node in nodes if node.selection_set]
            )
        strawberry_field = definition.extensions.get("strawberry-definition")
        resolution, method, takes_info = _resolution(strawberry_field)
        batch = batch_form(method) if resolution is Resolution.METHOD else None
        stream = None
        if self._incremental:
            found = self._directive(nodes[0], "stream")
            if found is not None:
                count = found.get("initialCount", 0)
                stream = Stream(_string(found.get("label")), count if type(count) is int else 0)
        return FieldPlan(
            key=key,
            name=name,
            nodes=tuple(nodes),
            parent=parent,
            definition=definition,
            type=definition.type,
            resolution=Resolution.BATCH if batch is not None else resolution,
            python_name=getattr(strawberry_field, "python_name", name),
            method=method,
            takes_info=takes_info,
            arguments=tuple(getattr(strawberry_field, "arguments", ())),
            has_arguments=bool(definition.args),
            child=child,
            shape=shape_of(definition.type),
            batch=batch,
            stream=stream,
        )


def _string(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _passthrough(type_: GraphQLLeafType) -> type | None:
    """The Python type whose values are a leaf's JSON as they are, if any."""
    if type_ in (GraphQLString, GraphQLID):
        return str
    if type_ is GraphQLBoolean:
        return bool
    if type_ is GraphQLInt:
        return int  # within GraphQL's 32 bits (`bff.execution.executor.INT_MIN`, `INT_MAX`)
    return None


def _resolution(field: object) -> tuple[Resolution, Callable[..., object] | None, str | None]:
    """How to resolve a Strawberry field without its generic wrapper, where that is safe."""
    if field is None or getattr(field, "extensions", None):
        return Resolution.WRAPPED, None, None
    resolver = getattr(field, "base_resolver", None)
    if resolver is None:
        return Resolution.ATTRIBUTE, None, None
    if resolver.root_parameter or resolver.parent_parameter or not resolver.self_parameter:
        return Resolution.WRAPPED, None, None
    info = resolver.info_parameter
    return Resolution.METHOD, resolver.wrapped_func, info.name if info else None
