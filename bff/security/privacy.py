"""What the schema marks as personal data (`schema.privacy`), read once per schema."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLSchema

from schema.privacy import PersonalData


def personal_data(schema: GraphQLSchema) -> list[str]:
    """Every marked coordinate: `Type.field` and `Type.field(argument:)`, sorted."""
    return sorted(_marked(schema))


def _marked(schema: GraphQLSchema) -> Iterator[str]:
    for type_name, named in schema.type_map.items():
        if type_name.startswith("__"):
            continue
        for field_name, field in getattr(named, "fields", {}).items():
            definition = field.extensions.get("strawberry-definition")
            if _is_marked(definition):
                yield f"{type_name}.{field_name}"
            for argument_name, argument in getattr(field, "args", {}).items():
                if _is_marked(argument.extensions.get("strawberry-definition")):
                    yield f"{type_name}.{field_name}({argument_name}:)"


def _is_marked(definition: object) -> bool:
    return any(isinstance(d, PersonalData) for d in getattr(definition, "directives", None) or ())
