"""Operation limits, checked before an operation is validated or run.

A document is measured once, straight after parsing (which itself stops at
`max_tokens`): its depth, its aliases, its root fields, and an estimated cost,
each field counting once per object it would run for. List fields multiply
their children by their `first` argument (or its deprecated name `limit`; a
variable counts as `MAX_FIRST`), or by `default_list_size` when they have none;
a connection's `first` carries to its `edges`/`nodes`. Anything over a limit
is refused with a message naming the limit, the measured value and the setting
that raises it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
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

MAX_FIRST = 100
"""What a `first` given by a variable is assumed to be."""
SIZE_ARGUMENTS = ("first", "limit")
"""Arguments that size a list: `first`, and `limit`, its deprecated name on
`recommendations`; when both are given the larger counts."""


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int
    max_aliases: int
    max_root_fields: int
    max_cost: int
    default_list_size: int


@dataclass(frozen=True, slots=True)
class Measures:
    depth: int
    aliases: int
    root_fields: int
    cost: int


class LimitExceeded(Exception):
    def __init__(self, limit: str, measured: int, maximum: int, setting: str) -> None:
        super().__init__(
            f"The operation's {limit} is {measured}, over the limit of {maximum} "
            f"(set by {setting})."
        )
        self.error = GraphQLError(
            str(self),
            extensions={"limit": limit, "measured": measured, "maximum": maximum},
        )


def check(measures: Measures, limits: Limits) -> None:
    """Raise `LimitExceeded` for the first limit the operation breaks."""
    for limit, measured, maximum, setting in (
        ("depth", measures.depth, limits.max_depth, "BFF_MAX_DEPTH"),
        ("alias count", measures.aliases, limits.max_aliases, "BFF_MAX_ALIASES"),
        ("root field count", measures.root_fields, limits.max_root_fields, "BFF_MAX_ROOT_FIELDS"),
        ("estimated cost", measures.cost, limits.max_cost, "BFF_MAX_COST"),
    ):
        if measured > maximum:
            raise LimitExceeded(limit, measured, maximum, setting)


def measure(
    schema: GraphQLSchema,
    fragments: Mapping[str, FragmentDefinitionNode],
    operation: OperationDefinitionNode,
    default_list_size: int,
) -> Measures:
    root = schema.get_root_type(operation.operation)
    walker = _Walker(fragments, default_list_size)
    cost, depth = walker.selection_set(operation.selection_set, root, 1, None, 0, frozenset())
    root_fields = len(walker.fields(operation.selection_set, frozenset()))
    return Measures(depth=depth, aliases=walker.aliases, root_fields=root_fields, cost=cost)


class _Walker:
    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode], list_size: int) -> None:
        self._fragments = fragments
        self._list_size = list_size
        self.aliases = 0

    def fields(self, selection_set: SelectionSetNode, seen: frozenset[str]) -> list[FieldNode]:
        """The fields of a selection set, fragments inlined (each at most once per path)."""
        found: list[FieldNode] = []
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                found.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                found += self.fields(selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self._fragments.get(name)
                if fragment is not None and name not in seen:
                    found += self.fields(fragment.selection_set, seen | {name})
        return found

    def selection_set(
        self,
        selection_set: SelectionSetNode,
        parent: GraphQLObjectType | None,
        multiplier: int,
        carried_first: int | None,
        depth: int,
        seen: frozenset[str],
    ) -> tuple[int, int]:
        """(cost, depth) of a selection set run for `multiplier` objects."""
        cost = 0
        deepest = depth
        for field in self.fields(selection_set, seen):
            if field.alias is not None:
                self.aliases += 1
            definition = parent.fields.get(field.name.value) if parent is not None else None
            field_type = definition.type if definition is not None else None
            first = self._first(field, definition)
            times = 1
            carry: int | None = None
            if _is_list(field_type):
                times = first or carried_first or self._list_size
            elif first is not None:
                carry = first
            cost += multiplier * times
            deepest = max(deepest, depth + 1)
            if field.selection_set is not None:
                child = get_named_type(field_type) if field_type is not None else None
                child_cost, child_depth = self.selection_set(
                    field.selection_set,
                    child if isinstance(child, GraphQLObjectType) else None,
                    multiplier * times,
                    carry,
                    depth + 1,
                    seen,
                )
                cost += child_cost
                deepest = max(deepest, child_depth)
        return cost, deepest

    def _first(self, field: FieldNode, definition: object) -> int | None:
        given = [
            max(0, int(argument.value.value))
            if isinstance(argument.value, IntValueNode)
            else MAX_FIRST
            for argument in field.arguments or ()
            if argument.name.value in SIZE_ARGUMENTS
            and isinstance(argument.value, IntValueNode | VariableNode)
        ]
        if given:
            return max(given)
        args = getattr(definition, "args", None) or {}
        default = args["first"].default_value if "first" in args else None
        return default if isinstance(default, int) else None


def _is_list(field_type: GraphQLOutputType | None) -> bool:
    if isinstance(field_type, GraphQLNonNull):
        field_type = field_type.of_type
    return isinstance(field_type, GraphQLList)
