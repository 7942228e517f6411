"""The `.graphql` copies of GraphiQL's examples, which client code generators read, are current."""

from __future__ import annotations

import shutil
from pathlib import Path

from bff.contract.example_documents import graphql_files, main, stale, write
from bff.contract.examples import GRAPHIQL_TABS
from tests.paths import REPO_ROOT

COMMITTED = REPO_ROOT / "frontend-types" / "documents"


def test_the_committed_documents_are_current() -> None:
    assert stale(COMMITTED) == [], (
        "frontend-types/documents differs from bff/contract/examples.py: "
        "run `python -m bff.contract.example_documents frontend-types/documents`"
    )


def test_every_example_has_a_file_holding_its_document() -> None:
    files = graphql_files()

    assert sorted(files) == sorted(f"{example.name}.graphql" for example in GRAPHIQL_TABS)
    for example in GRAPHIQL_TABS:
        assert files[f"{example.name}.graphql"].endswith(example.query)


def test_a_changed_missing_or_extra_file_is_stale_until_written_again(tmp_path: Path) -> None:
    documents = tmp_path / "documents"
    shutil.copytree(COMMITTED, documents)
    (documents / "ProductPage.graphql").write_text("query ProductPage { product { id } }\n")
    (documents / "HomeFeed.graphql").unlink()
    (documents / "Gone.graphql").write_text("query Gone { me { name } }\n")

    assert stale(documents) == ["Gone.graphql", "HomeFeed.graphql", "ProductPage.graphql"]
    assert main(["--check", str(documents)]) == 1

    write(documents)

    assert stale(documents) == []
    assert main(["--check", str(documents)]) == 0
