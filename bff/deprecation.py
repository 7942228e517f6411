"""The schema's deprecated coordinates, and the ones an operation uses.

A coordinate names one place in the schema: `Product.priceCents` (a field or
an input field), `Query.recommendations(limit:)` (an argument),
`OrderStatus.PAID` (an enum value), `@name(argument:)` (a directive's
argument). What an operation uses is read from its document once, when it is
prepared (`bff.operations`): its fields, through fragments and inline
fragments, their arguments, and enum values and input fields written as
literals (values given by variables are not seen). `@skip`/`@include` are not
evaluated: a field the operation asks for counts as used. Each request then
counts its uses per client (`bff_deprecated_usage_total`), which
`bff usage deprecated` reads back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from graphql import (
    ArgumentNode,
    DirectiveNode,
    DocumentNode,
    EnumValueNode,
    ExecutableDefinitionNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLArgument,
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


def deprecated_coordinates(schema: GraphQLSchema) -> dict[str, str]:
    """Every deprecated coordinate of the schema and its reason, sorted by coordinate."""
    return dict(sorted(_deprecated(schema)))


def _deprecated(schema: GraphQLSchema) -> Iterator[tuple[str, str]]:
    for type_name, named in schema.type_map.items():
        if type_name.startswith("__"):
            continue
        if isinstance(named, GraphQLEnumType):
            for value_name, value in named.values.items():
                if value.deprecation_reason is not None:
                    yield f"{type_name}.{value_name}", value.deprecation_reason
        for field_name, field in getattr(named, "fields", {}).items():
            if field.deprecation_reason is not None:
                yield f"{type_name}.{field_name}", field.deprecation_reason
            for argument_name, argument in getattr(field, "args", {}).items():
                if argument.deprecation_reason is not None:
                    coordinate = f"{type_name}.{field_name}({argument_name}:)"
                    yield coordinate, argument.deprecation_reason
    for directive in schema.directives:
        for argument_name, argument in directive.args.items():
            if argument.deprecation_reason is not None:
                yield f"@{directive.name}({argument_name}:)", argument.deprecation_reason


def deprecated_usage(
    schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode
) -> dict[str, str]:
    """The deprecated coordinates `operation` uses, with their reasons, sorted."""
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    found: dict[str, str] = {}
    pending: list[ExecutableDefinitionNode] = [operation]
    seen: set[str] = set()
    while pending:
        type_info = TypeInfo(schema)
        collector = _Collector(schema, type_info, found)
        visit(pending.pop(), TypeInfoVisitor(type_info, collector))
        for name in collector.spreads - seen:
            if name in fragments:
                seen.add(name)
                pending.append(fragments[name])
    return dict(sorted(found.items()))


class _Collector(Visitor):
    """Deprecated coordinates in one operation or fragment, and the fragments it spreads."""

    def __init__(self, schema: GraphQLSchema, type_info: TypeInfo, found: dict[str, str]) -> None:
        super().__init__()
        self._schema = schema
        self._type_info = type_info
        self._found = found
        self.spreads: set[str] = set()

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: object) -> None:
        self.spreads.add(node.name.value)

    def enter_field(self, node: FieldNode, *_: object) -> None:
        parent = self._type_info.get_parent_type()
        field = self._type_info.get_field_def()
        if parent is None or not isinstance(field, GraphQLField):
            return
        coordinate = f"{parent.name}.{node.name.value}"
        if field.deprecation_reason is not None:
            self._found[coordinate] = field.deprecation_reason
        self._arguments(coordinate, node.arguments, field.args)

    def enter_directive(self, node: DirectiveNode, *_: object) -> None:
        directive = self._schema.get_directive(node.name.value)
        if directive is not None:
            self._arguments(f"@{directive.name}", node.arguments, directive.args)

    def _arguments(
        self,
        owner: str,
        given: Iterable[ArgumentNode] | None,
        definitions: Mapping[str, GraphQLArgument],
    ) -> None:
        for argument in given or ():
            name = argument.name.value
            definition = definitions.get(name)
            if definition is not None and definition.deprecation_reason is not None:
                self._found[f"{owner}({name}:)"] = definition.deprecation_reason

    def enter_object_field(self, node: ObjectFieldNode, *_: object) -> None:
        parent = self._type_info.get_parent_input_type()
        named = get_named_type(parent) if parent is not None else None
        if isinstance(named, GraphQLInputObjectType):
            field = named.fields.get(node.name.value)
            if field is not None and field.deprecation_reason is not None:
                self._found[f"{named.name}.{node.name.value}"] = field.deprecation_reason

    def enter_enum_value(self, node: EnumValueNode, *_: object) -> None:
        named = get_named_type(self._type_info.get_input_type())
        if isinstance(named, GraphQLEnumType):
            value = named.values.get(node.value)
            if value is not None and value.deprecation_reason is not None:
                self._found[f"{named.name}.{node.value}"] = value.deprecation_reason
