"""The schema as a versioned artifact: `bff schema export` and `bff schema check`."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import GraphQLSchema, build_schema

from bff.cli.main import main
from bff.contract.schema_check import changes, schema_sdl
from schema import build_schema as build_running
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT

BASE = """
enum Status { OPEN SHIPPED LOST @deprecated(reason: "Never used.") }
type Product {
  id: ID!
  sku: String!
  priceCents: Int! @deprecated(reason: "Use price.")
  status: Status!
}
type Query {
  product(id: ID, locale: String @deprecated(reason: "Ignored."), region: String): Product
  products(first: Int = 20): [Product!]!
}
"""


def schema(*edits: tuple[str, str]) -> GraphQLSchema:
    """BASE with each (old, new) text replaced once; the old text must be there."""
    sdl = BASE
    for old, new in edits:
        assert old in sdl, old
        sdl = sdl.replace(old, new, 1)
    return build_schema(sdl)


def lines(old: GraphQLSchema, new: GraphQLSchema) -> list[str]:
    return [str(change) for change in changes(old, new)]


def test_a_removed_field_is_breaking_and_said_to_skip_deprecation() -> None:
    assert lines(schema(), schema(("  sku: String!\n", ""))) == [
        "breaking: Field Product.sku was removed without being deprecated first (FIELD_REMOVED)"
    ]


def test_removing_what_was_deprecated_is_still_breaking_but_in_order() -> None:
    removed = schema(
        ('  priceCents: Int! @deprecated(reason: "Use price.")\n', ""),
        (', locale: String @deprecated(reason: "Ignored.")', ""),
        (' LOST @deprecated(reason: "Never used.")', ""),
    )

    assert lines(schema(), removed) == [
        "breaking: Enum value Status.LOST was removed (VALUE_REMOVED_FROM_ENUM)",
        "breaking: Field Product.priceCents was removed (FIELD_REMOVED)",
        "breaking: Argument Query.product(locale:) was removed (ARG_REMOVED)",
    ]


def test_arguments_and_enum_values_removed_undeprecated_are_called_out() -> None:
    removed = schema((", region: String", ""), (" SHIPPED", ""))

    assert lines(schema(), removed) == [
        "breaking: Enum value Status.SHIPPED was removed without being deprecated first "
        "(VALUE_REMOVED_FROM_ENUM)",
        "breaking: Argument Query.product(region:) was removed without being deprecated first "
        "(ARG_REMOVED)",
    ]


def test_an_argument_made_non_null_is_breaking_and_the_reverse_is_not() -> None:
    nullable, required = schema(), schema(("product(id: ID,", "product(id: ID!,"))

    assert lines(nullable, required) == [
        "breaking: Argument Query.product(id:) has changed type from ID to ID! (ARG_CHANGED_KIND)"
    ]
    assert [change.severity for change in changes(required, nullable)] == ["safe"]


def test_an_added_field_is_safe_and_a_new_enum_value_or_default_is_dangerous() -> None:
    added = schema(("  sku: String!\n", "  sku: String!\n  name: String\n"))
    widened = schema((" SHIPPED", " SHIPPED DELIVERED"), ("first: Int = 20", "first: Int = 50"))

    assert lines(schema(), added) == ["safe: Field Product.name was added (FIELD_ADDED)"]
    assert lines(schema(), widened) == [
        "dangerous: Enum value Status.DELIVERED was added (VALUE_ADDED_TO_ENUM)",
        "dangerous: Query.products(first:) has changed defaultValue from 20 to 50 "
        "(ARG_DEFAULT_VALUE_CHANGE)",
    ]
    assert changes(schema(), schema()) == []


# Through the command line, against the running schema.


def test_the_committed_schema_is_the_running_one() -> None:
    committed = (ROOT / "schema.graphql").read_text(encoding="utf-8")

    assert committed == schema_sdl(build_running()), (
        "schema.graphql is not the running schema: run "
        "`bff schema export --output schema.graphql` and commit it"
    )


def test_export_prints_or_writes_the_sdl(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    output = tmp_path / "schema.graphql"

    assert main(["schema", "export"]) == 0
    printed = capsys.readouterr().out
    assert main(["schema", "export", "--output", str(output)]) == 0

    assert printed == output.read_text(encoding="utf-8") == schema_sdl(build_running())
    assert '  priceCents: Int! @deprecated(reason: "Use `price { amount currency }`' in printed
    assert '  limit: Int = null @deprecated(reason: "Use `first`' in printed


def committed_with(tmp_path: Path, old: str, new: str) -> Path:
    """The running schema's SDL with one edit, as a file to check against."""
    sdl = schema_sdl(build_running())
    assert old in sdl, old
    path = tmp_path / "schema.graphql"
    path.write_text(sdl.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "status", "line"),
    [
        (
            "  sku: String!\n",
            "  sku: String!\n  legacyCode: String\n",
            1,
            "breaking: Field Product.legacyCode was removed without being deprecated first "
            "(FIELD_REMOVED)",
        ),
        (
            "    id: ID!\n  ): Product\n",
            "    id: ID\n  ): Product\n",
            1,
            "breaking: Argument Query.product(id:) has changed type from ID to ID! "
            "(ARG_CHANGED_KIND)",
        ),
        (
            '  """Stock-keeping unit, e.g. SKU-00001."""\n  sku: String!\n',
            "",
            0,
            "safe: Field Product.sku was added (FIELD_ADDED)",
        ),
    ],
    ids=["removed field", "argument made non-null", "added field"],
)
def test_check_fails_on_breaking_changes_only(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    old: str,
    new: str,
    status: int,
    line: str,
) -> None:
    against = committed_with(tmp_path, old, new)

    assert main(["schema", "check", "--against", str(against)]) == status
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == line
    assert printed[-1] == (
        f"To accept the changes, run `bff schema export --output {against}` and commit it."
    )


def test_check_passes_on_the_committed_schema(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)

    assert main(["schema", "check"]) == 0
    assert capsys.readouterr().out == "The running schema matches schema.graphql.\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "bff: cannot read {path}: No such file or directory"),
        ("type Query {", "bff: {path} is not a valid GraphQL schema: Syntax Error: Expected Name"),
        (
            "type Query { a: Nope }",
            "bff: {path} is not a valid GraphQL schema: Unknown type 'Nope'",
        ),
    ],
    ids=["missing", "not SDL", "unknown type"],
)
def test_check_says_why_it_cannot_compare(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "schema.graphql"
    if content is not None:
        path.write_text(content, encoding="utf-8")

    assert main(["schema", "check", "--against", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(message.format(path=path))
    assert captured.out == ""
