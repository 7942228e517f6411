"""The schema coordinates an operation uses, read from its document once.

`Product.name`, `Query.products(first:)`, `AddReviewInput.rating`... followed
through fragments, for usage analytics, deprecation tracking and schema checks.
"""

from __future__ import annotations

from collections.abc import Iterable

from graphql import (
    ArgumentNode,
    DirectiveNode,
    DocumentNode,
    EnumValueNode,
    ExecutableDefinitionNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLSchema,
    ObjectFieldNode,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    visit,
)


def used_coordinates(
    schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode
) -> tuple[str, ...]:
    """Every coordinate `operation` uses, sorted, each once."""
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    found: set[str] = set()
    pending: list[ExecutableDefinitionNode] = [operation]
    seen: set[str] = set()
    while pending:
        type_info = TypeInfo(schema)
        collector = CoordinateCollector(type_info, found)
        visit(pending.pop(), TypeInfoVisitor(type_info, collector))
        for name in collector.spreads - seen:
            if name in fragments:
                seen.add(name)
                pending.append(fragments[name])
    return tuple(sorted(found))


class CoordinateCollector(Visitor):
    """Coordinates in one operation or fragment, and the fragments it spreads.

    `found` and `spreads` may be swapped between definitions (`bff.execution.analysis`).
    """

    def __init__(self, type_info: TypeInfo, found: set[str]) -> None:
        super().__init__()
        self._type_info = type_info
        self.found = found
        self.spreads: set[str] = set()

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: object) -> None:
        self.spreads.add(node.name.value)

    def enter_field(self, node: FieldNode, *_: object) -> None:
        parent = self._type_info.get_parent_type()
        field = self._type_info.get_field_def()
        if (
            parent is None
            or not isinstance(field, GraphQLField)
            or node.name.value.startswith("__")
        ):
            return  # introspection, or a field the schema lacks (validation reports it)
        coordinate = f"{parent.name}.{node.name.value}"
        self.found.add(coordinate)
        self._arguments(coordinate, node.arguments)

    def enter_directive(self, node: DirectiveNode, *_: object) -> None:
        self._arguments(f"@{node.name.value}", node.arguments)

    def _arguments(self, owner: str, given: Iterable[ArgumentNode] | None) -> None:
        for argument in given or ():
            self.found.add(f"{owner}({argument.name.value}:)")

    def enter_object_field(self, node: ObjectFieldNode, *_: object) -> None:
        parent = self._type_info.get_parent_input_type()
        named = get_named_type(parent) if parent is not None else None
        if isinstance(named, GraphQLInputObjectType) and node.name.value in named.fields:
            self.found.add(f"{named.name}.{node.name.value}")

    def enter_enum_value(self, node: EnumValueNode, *_: object) -> None:
        named = get_named_type(self._type_info.get_input_type())
        if isinstance(named, GraphQLEnumType) and node.value in named.values:
            self.found.add(f"{named.name}.{node.value}")
