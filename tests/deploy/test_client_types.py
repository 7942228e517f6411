"""Frontend types from the schema and the reference documents: graphql-codegen, then strict tsc.

Each case runs `npm run check` (what `make typecheck-ts` runs) in a copy of
frontend-types/ and schema.graphql, with the installed node_modules linked in,
so nothing is fetched: the copy as committed passes, and a document or a
schema change that breaks a reference document fails, naming the problem. Like
the other tests that drive a tool, a missing Node.js fails them (`make test`
installs it), never skips them.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from graphql import (
    DocumentNode,
    FieldDefinitionNode,
    NonNullTypeNode,
    ObjectTypeDefinitionNode,
    Visitor,
    parse,
    print_ast,
    visit,
)

from tests.paths import REPO_ROOT

FRONTEND_TYPES = REPO_ROOT / "frontend-types"
NODE_MODULES = FRONTEND_TYPES / "node_modules"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A copy of frontend-types/ next to a copy of the schema, sharing the installed packages."""
    assert shutil.which("node"), "Node.js is needed (scripts/system-tools installs it)"
    assert (NODE_MODULES / ".bin" / "graphql-codegen").exists(), (
        "frontend-types has no packages: `npm ci --prefix frontend-types` (`make pytest` runs it)"
    )
    shutil.copy(REPO_ROOT / "schema.graphql", tmp_path / "schema.graphql")
    copy = tmp_path / "frontend-types"
    shutil.copytree(
        FRONTEND_TYPES, copy, ignore=shutil.ignore_patterns("node_modules", "generated")
    )
    (copy / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
    return copy


def check(workspace: Path) -> tuple[int, str]:
    """Run codegen and tsc as `make typecheck-ts` does; the exit code and everything printed."""
    npm = shutil.which("npm")
    assert npm, "npm is needed (scripts/system-tools installs it)"
    run = subprocess.run(
        [npm, "run", "--silent", "check"],
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return run.returncode, run.stdout + run.stderr


def edit_schema(
    workspace: Path, field: str, change: Callable[[FieldDefinitionNode], object]
) -> None:
    """Replace `Type.field` in the copied schema by what `change` returns (`REMOVE` drops it)."""
    type_name, field_name = field.split(".")
    path = workspace.parent / "schema.graphql"
    found: list[str] = []

    class Edit(Visitor):
        def enter_field_definition(
            self,
            node: FieldDefinitionNode,
            _key: object,
            _parent: object,
            _path: object,
            ancestors: list[object],
        ) -> object:
            owner = ancestors[-1]
            if (
                isinstance(owner, ObjectTypeDefinitionNode)
                and owner.name.value == type_name
                and node.name.value == field_name
            ):
                found.append(field)
                return change(node)
            return None

    edited = visit(parse(path.read_text()), Edit())
    assert found == [field], f"{field} is not in schema.graphql"
    assert isinstance(edited, DocumentNode)
    path.write_text(print_ast(edited))


def test_the_committed_documents_generate_types_that_type_check(workspace: Path) -> None:
    status, output = check(workspace)

    assert status == 0, output
    assert (workspace / "generated" / "graphql.ts").is_file()
    assert "ProductPageQuery" in (workspace / "generated" / "graphql.ts").read_text()


def test_a_document_asking_for_a_field_the_schema_lacks_fails(workspace: Path) -> None:
    document = workspace / "documents" / "ProductPage.graphql"
    text = document.read_text()
    assert "    name\n" in text
    document.write_text(text.replace("    name\n", "    nmae\n", 1))

    status, output = check(workspace)

    assert status != 0, output
    assert 'Cannot query field "nmae" on type "Product"' in output
    assert "ProductPage.graphql" in output


def test_removing_a_field_a_document_uses_fails(workspace: Path) -> None:
    edit_schema(workspace, "Product.stock", lambda _field: Visitor.REMOVE)

    status, output = check(workspace)

    assert status != 0, output
    assert 'Cannot query field "stock" on type "Product"' in output


def test_making_a_field_nullable_fails_where_the_frontend_relies_on_it(workspace: Path) -> None:
    def nullable(field: FieldDefinitionNode) -> FieldDefinitionNode:
        assert isinstance(field.type, NonNullTypeNode)
        return FieldDefinitionNode(
            description=field.description,
            name=field.name,
            arguments=field.arguments,
            type=field.type.type,
            directives=field.directives,
        )

    edit_schema(workspace, "Product.price", nullable)

    status, output = check(workspace)

    assert status != 0, output
    assert "usage.ts" in output
    assert "Type 'null' is not assignable to type 'Money'" in output
