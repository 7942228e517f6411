"""`bff schema check --usage`: breaking changes judged by what clients actually sent."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from bff.cli.main import main
from bff.contract.examples import PRODUCT_PAGE
from bff.contract.schema_check import schema_sdl
from schema import build_schema
from tests.harness import running_bff

IOS = {"apollographql-client-name": "ios", "apollographql-client-version": "3.2.0"}


@pytest.fixture(params=["reports", "raw events", "both"])
async def usage(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """Real usage: the iOS app loading product pages, as reports, raw events or both.

    Raw events alone are what earlier versions wrote: one per operation, unsampled.
    """
    path = tmp_path / "usage.jsonl"
    sample = "0" if request.param == "reports" else "1"
    env = {"BFF_USAGE_SINK": "jsonl", "BFF_USAGE_FILE": str(path), "BFF_USAGE_SAMPLE": sample}
    async with running_bff(env) as bff:
        for number in range(1, 4):
            await bff.query(PRODUCT_PAGE.query, {"id": f"p{number}"}, headers=IOS)
    if request.param == "raw events":
        records = [orjson.loads(line) for line in path.read_bytes().splitlines()]
        path.write_bytes(
            b"".join(
                orjson.dumps({key: value for key, value in record.items() if key != "sampled"})
                + b"\n"
                for record in records
                if record["type"] == "operation"
            )
        )
    return path


def _old_schema(tmp_path: Path, *, product_fields: str = "", product_argument: str = "ID!") -> Path:
    """The running schema as it was before a change: extra Product fields, another argument type."""
    sdl = schema_sdl(build_schema())
    if product_fields:
        sdl = re.sub(
            r"^(type Product\b[^\n]*\{\n)", r"\g<1>" + product_fields, sdl, count=1, flags=re.M
        )
    # Query.product's `id`, as printed with its description: the change must take.
    sdl, changed = re.subn(
        r'(\n  product\(\n    """[^"]*"""\n    id: )ID!(\n  \): Product)',
        rf"\g<1>{product_argument}\g<2>",
        sdl,
        count=1,
    )
    assert changed == 1, "Query.product(id:) is no longer printed as this expects"
    path = tmp_path / "old.graphql"
    path.write_text(sdl)
    return path


def _event_by_an_old_app(path: Path, *, fields: list[str], age: timedelta) -> None:
    """What an older app version sent before the field was dropped, as the sink recorded it."""
    moment = (datetime.now(UTC) - age).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    event = {
        "type": "operation",
        "time": moment,
        "operation": "LegacyProduct",
        "hash": "0" * 64,
        "operationType": "query",
        "client": {"name": "ios", "version": "2.9.0"},
        "fields": fields,
        "durationMs": 4.2,
        "outcome": "ok",
        "errors": [],
        "variants": {},
    }
    with path.open("ab") as sink:
        sink.write(orjson.dumps(event) + b"\n")


def _check(old: Path, usage: Path, *more: str) -> list[str]:
    return ["schema", "check", "--against", str(old), "--usage", str(usage), *more]


def test_removing_a_field_nobody_used_passes(
    tmp_path: Path, usage: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = _old_schema(tmp_path, product_fields="  barcode: String\n")

    assert main(["schema", "check", "--against", str(old)]) == 1  # breaking, without usage
    capsys.readouterr()
    assert main(_check(old, usage)) == 0
    output = capsys.readouterr().out
    assert "Product.barcode was removed" in output
    assert "no client used it in the last 30 days" in output


def test_removing_a_field_a_client_used_fails_and_names_the_client(
    tmp_path: Path, usage: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = _old_schema(tmp_path, product_fields="  barcode: String\n")
    _event_by_an_old_app(usage, fields=["Query.product", "Product.barcode"], age=timedelta(days=3))

    assert main(_check(old, usage)) == 1
    output = capsys.readouterr().out
    assert "Product.barcode was removed" in output
    assert "used in the last 30 days by ios 2.9.0" in output


def test_use_older_than_the_window_does_not_count(
    tmp_path: Path, usage: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = _old_schema(tmp_path, product_fields="  barcode: String\n")
    _event_by_an_old_app(usage, fields=["Product.barcode"], age=timedelta(days=40))

    assert main(_check(old, usage, "--days", "30")) == 0
    assert main(_check(old, usage, "--days", "60")) == 1
    assert "ios 2.9.0" in capsys.readouterr().out


def test_an_argument_made_non_null_breaks_every_client_of_the_field(
    tmp_path: Path, usage: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = _old_schema(tmp_path, product_argument="ID")

    assert main(_check(old, usage)) == 1
    output = capsys.readouterr().out
    assert "Query.product(id:) has changed type from ID to ID!" in output
    assert "by ios 3.2.0" in output


def test_trusted_documents_count_as_used(
    tmp_path: Path, usage: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = _old_schema(tmp_path, product_fields="  barcode: String\n")
    manifest = tmp_path / "trusted-documents.json"
    manifest.write_bytes(
        orjson.dumps({"scan-1": 'query Scanner { product(id: "p1") { id barcode } }'})
    )

    assert main(_check(old, usage, "--documents", str(manifest))) == 1
    assert "by trusted document scan-1" in capsys.readouterr().out


def test_an_unreadable_usage_sink_is_an_error_not_a_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = _old_schema(tmp_path, product_fields="  barcode: String\n")

    assert main(_check(old, tmp_path / "missing.jsonl")) == 2
    assert "cannot read the usage" in capsys.readouterr().err


def test_usage_report_reads_the_sink(usage: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["usage", "report", "--sink", str(usage)]) == 0
    output = capsys.readouterr().out

    assert output.startswith("3 operations, 0 exposures\n")
    page = next(line for line in output.splitlines() if line.endswith("  ProductPage"))
    count, errors, p50, p99, _ = page.split()
    assert (count, errors) == ("3", "0.0%")
    assert 0 < float(p50) <= float(p99)
    assert "      3    0.0%  ios 3.2.0" in output
    assert "  Product.price: ios 3.2.0 x3" in output
