"""Personal data, marked once in the schema: the inventory, and values kept out of sight."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import typing

import strawberry
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bff.execution.errors import RequestFailure
from bff.execution.operations import Operations
from bff.observability.logs import JsonFormatter
from bff.security.privacy import personal_data
from schema import build_schema
from schema.privacy import PERSONAL
from tests.harness import running_bff, signed_in
from tests.paths import REPO_ROOT

INVENTORY = ["User.country", "User.email", "User.name"]


def test_the_schema_marks_its_personal_data() -> None:
    assert personal_data(build_schema()._schema) == INVENTORY


def test_bff_schema_pii_prints_the_inventory_and_the_security_docs_hold_it() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "bff", "schema", "pii"], capture_output=True, text=True, check=True
    ).stdout.split()
    docs = (REPO_ROOT / "docs" / "security.md").read_text(encoding="utf-8")

    assert printed == INVENTORY
    for coordinate in INVENTORY:
        assert f"`{coordinate}`" in docs


async def test_errors_never_echo_a_personal_argument_value() -> None:
    @strawberry.type
    class Query:
        @strawberry.field
        def lookup(
            self, pin: typing.Annotated[int, strawberry.argument(directives=[PERSONAL])]
        ) -> str:
            return "found"

    operations = Operations(strawberry.Schema(query=Query))
    prepared = await operations.prepare("query L($pin: Int!) { lookup(pin: $pin) }", None)
    try:
        await operations.execute(prepared, {"pin": "a@b.c"}, context=None)  # type: ignore[arg-type]
    except RequestFailure as failure:
        messages = [error["message"] for error in failure.refusal.errors]
    else:
        raise AssertionError("the variable should not coerce")
    finally:
        operations.close()

    assert personal_data(strawberry.Schema(query=Query)._schema) == ["Query.lookup(pin:)"]
    assert messages == ["Variable '$pin' got an invalid value (not shown: personal data)."]


async def test_personal_values_reach_neither_logs_nor_traces_nor_metric_labels() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logging.getLogger().addHandler(handler)
    logging.getLogger("bff.operation").setLevel(logging.INFO)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    token = signed_in("u1")
    try:
        async with running_bff(tracer_provider=provider) as bff:
            reply = await bff.query(
                "query Me($id: ID!) { user(id: $id) { name email country } "
                'other: user(id: "u1") { name } }',
                {"id": "u1", "note": "ada@example.com"},
                headers={**token, "x-client-name": "ada@example.com"},
            )
            metrics = (await bff.http.get("/metrics")).text
    finally:
        logging.getLogger().removeHandler(handler)

    assert reply.data["user"]["email"] == "ada@example.com"
    spans = " ".join(str(span.to_json()) for span in exporter.get_finished_spans())
    for sink in (stream.getvalue(), spans, metrics):
        assert "ada@example.com" not in sink
        assert "Ada Lovelace" not in sink
        assert token["Authorization"].split()[1] not in sink
