"""Operation limits, measured before an operation is validated or run.

Depth, aliases, root fields and estimated cost, in time linear in the document
(see docs/security.md, Operation limits).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)
from graphql.language.parser import MAX_NESTING_DEPTH
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef

from bff.config.settings import LimitSettings

MAX_FIRST = 100
"""What a `first` given by a variable is assumed to be."""
SIZE_ARGUMENTS = ("first", "limit")
"""Arguments that size a list: `first`, and `limit`, its deprecated name on
`recommendations`; when both are given the larger counts."""
SATURATED = 2**53 - 1
"""The largest count kept: any larger one is held at this (exact in every JSON reader)."""
_INTROSPECTION_ROOTS = {"__schema": SchemaMetaFieldDef, "__type": TypeMetaFieldDef}
_DIGITS = len(str(SATURATED))
DEFAULTS = LimitSettings()
"""The declared limits (`bff.config.settings`), where `Limits()` takes its list size."""

Parent = GraphQLObjectType | GraphQLInterfaceType | None


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int = SATURATED
    max_aliases: int = SATURATED
    max_root_fields: int = SATURATED
    max_cost: int = SATURATED
    default_list_size: int = DEFAULTS.default_list_size


@dataclass(frozen=True, slots=True)
class Measures:
    depth: int
    aliases: int
    root_fields: int
    cost: int
    selections: int
    """Selections visited: the work the measurement took (each fragment's once)."""


class LimitExceeded(Exception):
    def __init__(self, limit: str, measured: int, maximum: int, setting: str | None) -> None:
        set_by = f"set by {setting}" if setting else "fixed by graphql-core"
        super().__init__(
            f"The operation's {limit} is at least {measured}, over the limit of {maximum} "
            f"({set_by})."
        )
        self.error = GraphQLError(
            str(self),
            extensions={"limit": limit, "measured": measured, "maximum": maximum},
        )


class FragmentCycle(Exception):
    """A fragment spreads itself, directly or through others."""

    def __init__(self, error: GraphQLError) -> None:
        super().__init__(error.message)
        self.error = error


def measure(
    schema: GraphQLSchema,
    fragments: Mapping[str, FragmentDefinitionNode],
    operation: OperationDefinitionNode,
    limits: Limits,
) -> Measures:
    """The operation's measures; `LimitExceeded` at the first limit passed.

    Raises `FragmentCycle` for a fragment that spreads itself.
    """
    walker = _Walker(schema, fragments, limits)
    for name in _dependency_order(fragments, operation):
        fragment = fragments[name]
        walker.summaries[name] = walker.summary(
            fragment.selection_set, walker.type_named(fragment.type_condition.name.value)
        )
    root = walker.summary(operation.selection_set, schema.get_root_type(operation.operation))
    cost = _add(root.fixed, _mul(root.carried, limits.default_list_size))
    # graphql-core's validation gives up on selection sets nested deeper than this.
    walker.check("selection set nesting", root.nesting, MAX_NESTING_DEPTH, None)
    walker.check("root field count", root.fields, limits.max_root_fields, "BFF_MAX_ROOT_FIELDS")
    walker.check("estimated cost", cost, limits.max_cost, "BFF_MAX_COST")
    return Measures(
        depth=root.depth,
        aliases=root.aliases,
        root_fields=root.fields,
        cost=cost,
        selections=walker.selections,
    )


@dataclass(frozen=True, slots=True)
class _Summary:
    """What a selection set costs one object of its parent type.

    Its cost is `fixed + carried * n`, where `n` is the `first` carried from a
    connection above it (or the default list size): `carried` collects the
    list fields that have no size of their own.
    """

    fixed: int
    carried: int
    depth: int
    aliases: int
    fields: int
    """Fields at its own level, fragments inlined: the root field count at the root."""
    nesting: int
    """Selection sets nested in it, itself included, fragments inlined."""


_EMPTY = _Summary(0, 0, 0, 0, 0, 0)


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        limits: Limits,
    ) -> None:
        self._schema = schema
        self._fragments = fragments
        self._limits = limits
        self.summaries: dict[str, _Summary] = {}
        self.selections = 0

    def type_named(self, name: str) -> Parent:
        found = self._schema.get_type(name)
        return found if isinstance(found, GraphQLObjectType | GraphQLInterfaceType) else None

    def summary(self, selection_set: SelectionSetNode, parent: Parent) -> _Summary:
        """Measure a selection set; spread fragments must already be summarised."""
        limits = self._limits
        fixed = carried = depth = aliases = fields = nesting = 0
        introspective = parent is not None and parent.name.startswith("__")
        for selection in selection_set.selections:
            self.selections += 1
            if isinstance(selection, FieldNode):
                fields += 1
                if selection.alias is not None:
                    aliases = _add(aliases, 1)
                field_fixed, field_carried, field_depth, inner = self._field(
                    selection, parent, introspective
                )
                fixed = _add(fixed, field_fixed)
                carried = _add(carried, field_carried)
                depth = max(depth, field_depth)
            else:
                if isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    inner = self.summary(
                        selection.selection_set,
                        self.type_named(condition.name.value) if condition else parent,
                    )
                elif isinstance(selection, FragmentSpreadNode):
                    inner = self.summaries.get(selection.name.value, _EMPTY)
                else:
                    continue
                fixed = _add(fixed, inner.fixed)
                carried = _add(carried, inner.carried)
                depth = max(depth, inner.depth)
                fields = _add(fields, inner.fields)
            aliases = _add(aliases, inner.aliases)
            nesting = max(nesting, inner.nesting)
            # Whatever a selection set holds, the operation holds at least once:
            # its partial measures are bounds, and the first one over a limit ends it.
            self.check("depth", depth, limits.max_depth, "BFF_MAX_DEPTH")
            self.check("alias count", aliases, limits.max_aliases, "BFF_MAX_ALIASES")
            self.check("estimated cost", _add(fixed, carried), limits.max_cost, "BFF_MAX_COST")
        return _Summary(fixed, carried, depth, aliases, fields, nesting + 1)

    def _field(
        self, field: FieldNode, parent: Parent, introspective: bool
    ) -> tuple[int, int, int, _Summary]:
        """(fixed cost, carried cost, depth, its selection set) of a field, for one parent."""
        name = field.name.value
        definition = _INTROSPECTION_ROOTS.get(name) if parent is not None else None
        entering = definition is not None and not introspective
        if definition is None and parent is not None:
            definition = parent.fields.get(name)
        field_type = definition.type if definition is not None else None
        first = _first(field, definition)
        child = _EMPTY
        if field.selection_set is not None:
            named = get_named_type(field_type) if field_type is not None else None
            child = self.summary(
                field.selection_set,
                named if isinstance(named, GraphQLObjectType | GraphQLInterfaceType) else None,
            )
        if introspective or entering:
            # Introspection is answered in process: no list multiplies, no depth below.
            return _add(1, _add(child.fixed, child.carried)), 0, 1 if entering else 0, child
        list_size = self._limits.default_list_size
        if _is_list(field_type):
            each = _add(1, _add(child.fixed, _mul(child.carried, list_size)))
            if first is not None:
                return _mul(first, each), 0, 1 + child.depth, child
            return 0, each, 1 + child.depth, child
        each = _add(1, _add(child.fixed, _mul(child.carried, first or list_size)))
        return each, 0, 1 + child.depth, child

    def check(self, limit: str, measured: int, maximum: int, setting: str | None) -> None:
        if measured > maximum:
            raise LimitExceeded(limit, measured, maximum, setting)


def _dependency_order(
    fragments: Mapping[str, FragmentDefinitionNode], operation: OperationDefinitionNode
) -> list[str]:
    """The fragments the operation reaches, each after the fragments it spreads.

    Iterative, so a long chain of spreads cannot exhaust the stack; a cycle
    raises `FragmentCycle` with the validation rule's message.
    """
    spreads: dict[str, list[FragmentSpreadNode]] = {}

    def spreads_of(name: str) -> list[FragmentSpreadNode]:
        found = spreads.get(name)
        if found is None:
            found = spreads[name] = [
                spread
                for spread in _spreads(fragments[name].selection_set)
                if spread.name.value in fragments
            ]
        return found

    order: list[str] = []
    done: set[str] = set()
    for start in _spreads(operation.selection_set):
        if start.name.value not in fragments or start.name.value in done:
            continue
        path = [start]
        pending = [iter(spreads_of(start.name.value))]
        on_path = {start.name.value: 0}
        while pending:
            spread = next(pending[-1], None)
            if spread is None:
                finished = path.pop().name.value
                pending.pop()
                del on_path[finished]
                done.add(finished)
                order.append(finished)
                continue
            name = spread.name.value
            if name in on_path:
                raise FragmentCycle(_cycle_error(name, [*path[on_path[name] + 1 :], spread]))
            if name not in done:
                on_path[name] = len(path)
                path.append(spread)
                pending.append(iter(spreads_of(name)))
    return order


def _spreads(selection_set: SelectionSetNode) -> list[FragmentSpreadNode]:
    """The fragment spreads anywhere inside a selection set."""
    found: list[FragmentSpreadNode] = []
    stack = [selection_set]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                found.append(selection)
            elif isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
                stack.append(selection.selection_set)
    return found


def _cycle_error(name: str, path: list[FragmentSpreadNode]) -> GraphQLError:
    via = [spread.name.value for spread in path[:-1]]
    message = f"Cannot spread fragment '{name}' within itself"
    message += f" via {', '.join(repr(step) for step in via)}." if via else "."
    return GraphQLError(message, path)


def _first(field: FieldNode, definition: GraphQLField | None) -> int | None:
    """The size a field's arguments give its list; None when they give none (or 0)."""
    given = [
        _int(argument.value.value) if isinstance(argument.value, IntValueNode) else MAX_FIRST
        for argument in field.arguments or ()
        if argument.name.value in SIZE_ARGUMENTS
        and isinstance(argument.value, IntValueNode | VariableNode)
    ]
    if given:
        return max(given) or None
    if definition is None or "first" not in definition.args:
        return None
    default = definition.args["first"].default_value
    return default if isinstance(default, int) and default > 0 else None


def _int(literal: str) -> int:
    """An integer literal, saturated: huge literals are not converted digit by digit."""
    if literal.startswith("-"):
        return 0
    if len(literal) > _DIGITS:
        return SATURATED
    return min(int(literal), SATURATED)


def _add(a: int, b: int) -> int:
    return min(a + b, SATURATED)


def _mul(a: int, b: int) -> int:
    return min(a * b, SATURATED)


def _is_list(field_type: GraphQLOutputType | None) -> bool:
    if isinstance(field_type, GraphQLNonNull):
        field_type = field_type.of_type
    return isinstance(field_type, GraphQLList)
