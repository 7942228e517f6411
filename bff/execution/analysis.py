"""What a validated document says about how to run, cache, report and redact it: one walk.

One walk covers the whole document with the schema's type information, and
gathers per definition what only counts when the operation reaches it (the
coordinates it uses, introspection, `@skip`/`@include` variables), and over
the whole document the cache policy's hints and the variables that feed
personal-data arguments. Its result is kept with the prepared document.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from graphql import (
    ArgumentNode,
    DirectiveNode,
    DocumentNode,
    EnumValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    ObjectFieldNode,
    OperationDefinitionNode,
    OperationType,
    TypeInfo,
    TypeInfoVisitor,
    VariableNode,
    Visitor,
    get_named_type,
    visit,
)

from bff.execution.cache_policy import CachePolicies, CachePolicy
from bff.execution.coordinates import CoordinateCollector
from bff.execution.deprecation import deprecated_among

_PLANNED_DIRECTIVES = frozenset({"skip", "include", "defer", "stream"})
"""Directives whose variable arguments shape an execution plan (`bff.execution.plan`)."""


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything the walk finds about one operation of a document."""

    policy: CachePolicy
    plannable: bool
    """False for what only graphql-core runs: mutations, subscriptions, introspection."""
    conditions: tuple[str, ...]
    """Variables that decide an `@skip`, `@include`, `@defer` or `@stream` (its `if` or
    `initialCount`): a plan is made per their values."""
    personal_variables: frozenset[str]
    """Variables feeding `@personalData` arguments: errors never echo their values."""
    coordinates: tuple[str, ...]
    """The schema coordinates the operation uses (`bff.execution.coordinates`)."""
    deprecated: Mapping[str, str]
    """Deprecated coordinates among them, and why."""
    incremental: bool = False
    """The operation reaches a `@defer` or `@stream`: it may be answered in parts
    (`bff.execution.incremental`)."""


def analyse(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    *,
    policies: CachePolicies,
    personal: frozenset[str],
    deprecations: Mapping[str, str],
) -> Analysis:
    """Walk `document` once for `operation`; `personal` are the marked argument coordinates."""
    type_info = TypeInfo(schema)
    walker = _Walker(type_info, policies, personal)
    visit(document, TypeInfoVisitor(type_info, walker))
    reached = _reached(walker.definitions, operation)
    coordinates = tuple(sorted(set().union(*(found.coordinates for found in reached))))
    return Analysis(
        policy=walker.tally.policy(operation.operation),
        plannable=operation.operation == OperationType.QUERY
        and not any(found.introspection for found in reached),
        conditions=tuple(sorted(set().union(*(found.conditions for found in reached)))),
        personal_variables=frozenset(walker.personal_variables),
        coordinates=coordinates,
        deprecated=deprecated_among(deprecations, coordinates),
        incremental=any(found.incremental for found in reached),
    )


@dataclass(slots=True)
class _Found:
    """What one operation or fragment holds, counted only when the operation reaches it."""

    coordinates: set[str] = field(default_factory=set)
    spreads: set[str] = field(default_factory=set)
    conditions: set[str] = field(default_factory=set)
    introspection: bool = False
    incremental: bool = False


def _reached(
    definitions: Mapping[object, _Found], operation: OperationDefinitionNode
) -> list[_Found]:
    """The operation's findings and those of every fragment it reaches."""
    reached = [definitions[id(operation)]]
    seen: set[str] = set()
    pending = list(reached[0].spreads)
    while pending:
        name = pending.pop()
        found = definitions.get(name)
        if name in seen or found is None:
            continue
        seen.add(name)
        reached.append(found)
        pending.extend(found.spreads)
    return reached


class _Walker(Visitor):
    def __init__(
        self, type_info: TypeInfo, policies: CachePolicies, personal: frozenset[str]
    ) -> None:
        super().__init__()
        self._type_info = type_info
        self.tally = policies.tally()
        self._personal = personal
        self._coordinates = CoordinateCollector(type_info, set())
        self.definitions: dict[object, _Found] = {}
        self._current = _Found()
        self._fields: list[str] = []
        self.personal_variables: set[str] = set()

    def _enter(self, found: _Found) -> None:
        self._current = found
        self._coordinates.found = found.coordinates
        self._coordinates.spreads = found.spreads

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: object) -> None:
        self._enter(self.definitions.setdefault(id(node), _Found()))

    def enter_fragment_definition(self, node: FragmentDefinitionNode, *_: object) -> None:
        self._enter(self.definitions.setdefault(node.name.value, _Found()))

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: object) -> None:
        self._coordinates.enter_fragment_spread(node)

    def enter_field(self, node: FieldNode, *_: object) -> None:
        parent = self._type_info.get_parent_type()
        name = node.name.value
        self._fields.append(f"{parent.name}.{name}" if parent else "")
        if name in ("__schema", "__type"):
            self._current.introspection = True
        definition = self._type_info.get_field_def()
        if parent is not None and definition is not None and not name.startswith("__"):
            self.tally.field(parent.name, name, get_named_type(definition.type))
        self._coordinates.enter_field(node)

    def leave_field(self, node: FieldNode, *_: object) -> None:
        self._fields.pop()

    def enter_argument(self, node: ArgumentNode, *_: object) -> None:
        coordinate = f"{self._fields[-1]}({node.name.value}:)" if self._fields else ""
        if isinstance(node.value, VariableNode) and coordinate in self._personal:
            self.personal_variables.add(node.value.name.value)

    def enter_directive(
        self,
        node: DirectiveNode,
        _key: object,
        _parent: object,
        _path: object,
        ancestors: list[object],
    ) -> None:
        self._coordinates.enter_directive(node)
        on_selection = ancestors and isinstance(
            ancestors[-1], FieldNode | InlineFragmentNode | FragmentSpreadNode
        )
        name = node.name.value
        if on_selection and name in _PLANNED_DIRECTIVES:
            if name in ("defer", "stream"):
                self._current.incremental = True
            for argument in node.arguments or ():
                if isinstance(argument.value, VariableNode):
                    self._current.conditions.add(argument.value.name.value)

    def enter_object_field(self, node: ObjectFieldNode, *_: object) -> None:
        self._coordinates.enter_object_field(node)

    def enter_enum_value(self, node: EnumValueNode, *_: object) -> None:
        self._coordinates.enter_enum_value(node)
