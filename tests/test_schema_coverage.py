"""Every field of the schema is exercised by some test.

Collects the GraphQL documents written in the test suite (string literals that
parse and validate against the schema, plus the reference operations) and
checks that together they select every output field and set every input field.
"""

from __future__ import annotations

import ast
from pathlib import Path

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLObjectType,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    parse,
    validate,
    visit,
)
from graphql.language import ArgumentNode, FieldNode, ObjectFieldNode

from bff.examples import REFERENCE_OPERATIONS
from schema import build_schema

SCHEMA = build_schema()._schema


def test_documents_cover_every_field() -> None:
    covered: set[str] = set()
    for document in documents():
        covered |= coordinates(document)

    assert sorted(schema_coordinates() - covered) == []


def documents() -> list[DocumentNode]:
    texts = [example.query for example in REFERENCE_OPERATIONS]
    for path in Path(__file__).parent.rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "{" in node.value:
                texts.append(node.value)
    found = []
    for text in texts:
        try:
            document = parse(text)
        except GraphQLError:
            continue
        if not validate(SCHEMA, document):
            found.append(document)
    return found


def schema_coordinates() -> set[str]:
    wanted: set[str] = set()
    for name, named in SCHEMA.type_map.items():
        if name.startswith("__"):
            continue
        if isinstance(named, GraphQLObjectType | GraphQLInputObjectType):
            wanted.update(f"{name}.{field}" for field in named.fields)
    return wanted


def coordinates(document: DocumentNode) -> set[str]:
    type_info = TypeInfo(SCHEMA)
    seen: set[str] = set()

    class Collect(Visitor):
        def enter_field(self, node: FieldNode, *_: object) -> None:
            parent = type_info.get_parent_type()
            if parent is not None and not node.name.value.startswith("__"):
                seen.add(f"{parent.name}.{node.name.value}")

        def enter_object_field(self, node: ObjectFieldNode, *_: object) -> None:
            input_type = type_info.get_parent_input_type()
            if input_type is not None:
                seen.add(f"{get_named_type(input_type).name}.{node.name.value}")

        def enter_argument(self, node: ArgumentNode, *_: object) -> None:
            argument = type_info.get_argument()
            if argument is None:
                return
            # An input object passed whole as a variable sets all its (required) fields.
            seen.update(input_coordinates(get_named_type(argument.type)))

    visit(document, TypeInfoVisitor(type_info, Collect()))
    return seen


def input_coordinates(named: object) -> set[str]:
    if not isinstance(named, GraphQLInputObjectType):
        return set()
    found = {f"{named.name}.{field}" for field in named.fields}
    for field in named.fields.values():
        found |= input_coordinates(get_named_type(field.type))
    return found
