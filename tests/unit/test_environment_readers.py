"""Only `bff` reads the environment: schema, resolvers and clients take settings as arguments."""

from __future__ import annotations

import pytest

from tests.paths import REPO_ROOT


@pytest.mark.parametrize("package", ["clients", "resolvers", "schema"])
def test_only_bff_reads_the_environment(package: str) -> None:
    readers = [
        str(path.relative_to(REPO_ROOT))
        for path in (REPO_ROOT / package).rglob("*.py")
        if "environ" in path.read_text(encoding="utf-8")
    ]

    assert readers == []
