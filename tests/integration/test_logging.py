"""One structured line per operation, with names and counts but no personal data."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import orjson
import pytest

from bff.contract.examples import PRODUCT_PAGE
from bff.observability.logs import HumanFormatter, JsonFormatter
from tests.harness import running_bff


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("bff.operation")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)


async def test_each_operation_logs_one_json_line(json_lines: io.StringIO) -> None:
    async with running_bff({"BFF_RESPONSE_CACHE": "false"}) as bff:
        await bff.query(
            PRODUCT_PAGE.query,
            {"id": "p1"},
            headers={"x-client-name": "web", "x-client-version": "2.0", "x-request-id": "req-1"},
        )

    (line,) = json_lines.getvalue().splitlines()
    entry = orjson.loads(line)
    assert entry["level"] == "info"
    assert entry["logger"] == "bff.operation"
    assert entry["time"].endswith("Z")
    assert entry["operation_name"] == "ProductPage"
    assert entry["operation_type"] == "query"
    assert entry["client_name"] == "web"
    assert entry["client_version"] == "2.0"
    assert entry["request_id"] == "req-1"
    assert entry["downstream_calls"] == 6
    assert entry["outcome"] == "ok"
    assert entry["error_codes"] == []
    assert len(entry["trace_id"]) == 32
    assert len(entry["span_id"]) == 16
    assert entry["duration_ms"] > 0


async def test_variables_and_personal_data_never_reach_the_log(json_lines: io.StringIO) -> None:
    async with running_bff() as bff:
        await bff.query(
            "query Who($id: ID!) { user(id: $id) { name email } }",
            {"id": "u1", "email": "a@b.c"},
        )
        await bff.query("query Bad($id: ID!) { user(id: $id) { name } }", {"id": "a@b.c"})

    text = json_lines.getvalue()
    assert len(text.splitlines()) == 2
    assert "a@b.c" not in text
    assert "ada@example.com" not in text
    assert '"error_codes":["BAD_USER_INPUT"]' in text


def test_the_human_format_appends_fields() -> None:
    record = logging.LogRecord("bff.operation", logging.INFO, __file__, 1, "query X ok", (), None)
    record.fields = {"duration_ms": 1.5, "outcome": "ok", "skipped": None}

    text = HumanFormatter().format(record)

    assert text.endswith("INFO bff.operation query X ok duration_ms=1.5 outcome=ok")
