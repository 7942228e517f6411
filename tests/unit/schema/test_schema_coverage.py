"""Every field of the schema is exercised by some test.

Collects the GraphQL documents the test suite sends (the first argument of a
`.query(...)` call, or the `"query"` of a request body or query string, as a
literal or a module constant; plus the reference operations) and checks that
together they select every output field and set every input field.
"""

from __future__ import annotations

import ast

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

from bff.contract.examples import REFERENCE_OPERATIONS
from schema import build_schema
from tests.paths import REPO_ROOT

SCHEMA = build_schema()._schema


def test_documents_cover_every_field() -> None:
    covered: set[str] = set()
    for document in documents():
        covered |= coordinates(document)

    assert sorted(schema_coordinates() - covered) == []


def documents() -> list[DocumentNode]:
    texts = [example.query for example in REFERENCE_OPERATIONS]
    for path in (REPO_ROOT / "tests").rglob("test_*.py"):
        texts += sent_documents(ast.parse(path.read_text(encoding="utf-8")))
    found = []
    for text in texts:
        try:
            document = parse(text)
        except GraphQLError:
            continue
        if not validate(SCHEMA, document):
            found.append(document)
    return found


def sent_documents(module: ast.Module) -> list[str]:
    """Strings a test module sends as GraphQL documents."""
    constants = {
        target.id: node.value.value
        for node in module.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }

    def text(node: ast.expr) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return constants.get(node.id)
        return None

    sent: list[str | None] = []
    for node in ast.walk(module):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "query" and node.args:
                sent.append(text(node.args[0]))
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "query":
                    sent.append(text(value))
    return [document for document in sent if document is not None]


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
