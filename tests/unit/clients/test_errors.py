"""The error taxonomy: one coded tree, and a documented table that lists every code."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest
from graphql import GraphQLError

from bff.execution.errors import RequestFailure, format_error
from bff.product.analytics.aggregates import Aggregates
from clients.errors import (
    BffError,
    DownstreamError,
    ErrorCode,
    Forbidden,
    NotFound,
    RequestError,
    Timeout,
)

ROOT = Path(__file__).resolve().parents[3]
# The error table is found by its header row, wherever the docs put it.
TABLE_HEADER = re.compile(r"^\|\s*code\s*\|\s*meaning\s*\|", re.IGNORECASE)
ROW_CODE = re.compile(r"^\|\s*`([A-Z_]+)`\s*\|")


def documented_tables() -> list[tuple[Path, list[str]]]:
    """The codes in each documented error table, with the file that holds it."""
    tables: list[tuple[Path, list[str]]] = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]:
        if not path.is_file():
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        for start, line in enumerate(lines):
            if not TABLE_HEADER.match(line):
                continue
            codes: list[str] = []
            for row in lines[start + 2 :]:
                if not row.startswith("|"):
                    break
                found = ROW_CODE.match(row)
                assert found, f"{path.name}: an error-table row without a code: {row}"
                codes.append(found.group(1))
            tables.append((path, codes))
    assert tables, "no error table (a `| code | meaning |` header) in README.md or docs/"
    return tables


def test_the_error_table_lists_every_code_and_only_those() -> None:
    enum = {code.value for code in ErrorCode}
    for path, codes in documented_tables():
        assert len(codes) == len(set(codes)), f"{path.name} lists a code twice"
        assert not enum - set(codes), f"missing from {path.name}: {sorted(enum - set(codes))}"
        assert not set(codes) - enum, f"unknown in {path.name}: {sorted(set(codes) - enum)}"


def test_codes_are_sent_as_their_names() -> None:
    for code in ErrorCode:
        assert code.value == code.name
        assert f"{code}" == code.name


def test_every_coded_exception_shares_one_base() -> None:
    assert issubclass(DownstreamError, BffError)
    assert issubclass(RequestError, BffError)
    assert issubclass(RequestFailure, BffError)
    assert NotFound("catalog", "no such product").code is ErrorCode.NOT_FOUND
    assert Forbidden("not yours").code is ErrorCode.FORBIDDEN


def test_a_request_failure_carries_its_code() -> None:
    failure = RequestFailure(400, "GRAPHQL_PARSE_FAILED", [GraphQLError("Syntax Error")])
    assert failure.code is ErrorCode.GRAPHQL_PARSE_FAILED
    # What is sent and reported is the plain string: it can key a JSON object.
    code = failure.refusal.errors[0]["extensions"]["code"]  # type: ignore[index]
    assert type(failure.refusal.code) is str
    assert type(code) is str
    assert failure.refusal.code == code == "GRAPHQL_PARSE_FAILED"
    again = RequestFailure.again(failure.refusal)
    assert (again.code, again.message) == (ErrorCode.GRAPHQL_PARSE_FAILED, "Syntax Error")


def test_a_request_failure_refuses_a_code_that_is_not_in_the_taxonomy() -> None:
    with pytest.raises(ValueError, match="NOT_A_CODE"):
        RequestFailure(400, "NOT_A_CODE", [GraphQLError("x")])


@pytest.mark.parametrize(
    ("original", "extensions"),
    [
        (
            Timeout("reviews", "reviews did not answer"),
            {"code": "DOWNSTREAM_TIMEOUT", "service": "reviews"},
        ),
        (Forbidden("not yours"), {"code": "FORBIDDEN"}),
    ],
)
def test_known_errors_keep_their_message_and_code(
    original: BffError, extensions: dict[str, str]
) -> None:
    error = GraphQLError("masked", path=["order"], original_error=original)
    formatted = format_error(error, default_code=ErrorCode.INTERNAL_SERVER_ERROR, request_id="r1")
    assert formatted == {"message": original.message, "path": ["order"], "extensions": extensions}
    assert type(formatted["extensions"]["code"]) is str  # type: ignore[index]


def test_usage_reports_take_codes_as_exceptions_carry_them() -> None:
    """A refused subscription reports its exception's `ErrorCode`: the report is still JSON."""
    aggregates = Aggregates(0.0)
    aggregates.add(None, "Q", ("ios", "1"), "error", [ErrorCode.RATE_LIMITED], 0.001, {})
    report = aggregates.report(1.0)
    assert report is not None
    assert b'"RATE_LIMITED":1' in orjson.dumps(report)
