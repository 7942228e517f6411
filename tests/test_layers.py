"""Imports point one way: bff → schema → resolvers → clients; demo stands apart."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]

FORBIDDEN = {
    "clients": {"bff", "schema", "resolvers", "demo", "strawberry", "starlette", "graphql"},
    "resolvers": {"bff", "schema", "demo", "strawberry", "starlette", "graphql", "httpx"},
    "schema": {"bff", "demo", "starlette", "httpx"},
    "demo": {"bff", "schema", "resolvers", "clients", "strawberry"},
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_downward(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
    }

    assert {path: names for path, names in offenders.items() if names} == {}


@pytest.mark.parametrize("package", ["clients", "resolvers", "schema"])
def test_only_bff_reads_the_environment(package: str) -> None:
    readers = [
        str(path.relative_to(ROOT))
        for path in (ROOT / package).rglob("*.py")
        if "environ" in path.read_text(encoding="utf-8")
    ]

    assert readers == []
