"""The schema's deprecated coordinates, and the ones an operation uses.

Each request counts its uses per client in `bff_deprecated_usage_total`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from graphql import DocumentNode, GraphQLEnumType, GraphQLSchema, OperationDefinitionNode

from bff.execution.coordinates import used_coordinates


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
    return deprecated_among(
        deprecated_coordinates(schema), used_coordinates(schema, document, operation)
    )


def deprecated_among(reasons: Mapping[str, str], coordinates: Iterable[str]) -> dict[str, str]:
    """Those of `coordinates` that are deprecated, with their reasons, sorted."""
    return {
        coordinate: reasons[coordinate]
        for coordinate in sorted(coordinates)
        if coordinate in reasons
    }
