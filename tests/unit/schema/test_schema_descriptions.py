"""Everything GraphiQL's documentation explorer lists has a description (docs/api-contract.md)."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
)

from schema import build_schema


def test_every_type_field_argument_and_enum_value_is_described() -> None:
    schema = build_schema()._schema
    undescribed = [
        coordinate
        for name, named in schema.type_map.items()
        if not name.startswith("__")
        for coordinate, description in described(name, named)
        if not (description or "").strip()
    ]

    assert undescribed == []


def described(name: str, named: GraphQLNamedType) -> Iterator[tuple[str, str | None]]:
    """Each coordinate of a type (itself, fields, arguments, values) with its description."""
    yield name, named.description
    if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
        for field_name, field in named.fields.items():
            yield f"{name}.{field_name}", field.description
            for arg_name, argument in field.args.items():
                yield f"{name}.{field_name}({arg_name}:)", argument.description
    elif isinstance(named, GraphQLInputObjectType):
        for field_name, input_field in named.fields.items():
            yield f"{name}.{field_name}", input_field.description
    elif isinstance(named, GraphQLEnumType):
        for value_name, value in named.values.items():
            yield f"{name}.{value_name}", value.description
