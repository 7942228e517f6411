"""The `bff` command: serve the BFF, inspect settings, the schema and usage."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from bff.config.settings import Settings, SettingsError
from bff.contract.trusted_documents import ManifestError

if TYPE_CHECKING:
    from graphql import GraphQLSchema

    from bff.contract.schema_check import Usage
    from bff.product.analytics.records import UsageData


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="bff", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the BFF (settings from BFF_* variables)")
    _server_options(serve)
    listing = commands.add_parser("settings", help="list every BFF_* variable with its defaults")
    listing.add_argument(
        "--markdown", action="store_true", help="as docs/configuration.md, a Markdown reference"
    )
    schema = commands.add_parser("schema", help="look at the GraphQL schema")
    schema_commands = schema.add_subparsers(dest="schema_command", required=True)
    schema_commands.add_parser("pii", help="list every field and argument marked personal data")
    export = schema_commands.add_parser("export", help="print the schema's SDL")
    export.add_argument("--output", type=Path, help="write it to this file instead")
    check = schema_commands.add_parser(
        "check", help="fail on a breaking change against the committed SDL"
    )
    check.add_argument("--against", type=Path, default=Path("schema.graphql"), help="SDL file")
    check.add_argument(
        "--usage",
        metavar="SINK",
        help="fail only on breaking changes that clients used: a usage JSON lines file (with "
        "its rotated copies) or redis://host:6379/0?stream=bff:usage",
    )
    check.add_argument("--days", type=int, default=30, help="how far back usage counts")
    check.add_argument(
        "--documents",
        type=Path,
        help="a trusted-documents manifest whose operations count as used "
        "(default: BFF_TRUSTED_DOCUMENTS when set)",
    )
    documents = commands.add_parser("documents", help="manage the trusted-documents manifest")
    documents_commands = documents.add_subparsers(dest="documents_command", required=True)
    add = documents_commands.add_parser(
        "add", help="register the named operations of .graphql files in the manifest"
    )
    add.add_argument("files", nargs="+", help=".graphql files (fragments may sit in any of them)")
    add.add_argument(
        "--manifest",
        help="the manifest to update (default: BFF_TRUSTED_DOCUMENTS, else trusted-documents.json)",
    )
    usage = commands.add_parser("usage", help="what clients use: usage records and metrics")
    usage_commands = usage.add_subparsers(dest="usage_command", required=True)
    report = usage_commands.add_parser(
        "report", help="top operations, field usage, error rates, experiment exposures"
    )
    report.add_argument(
        "--sink",
        required=True,
        help="a usage JSON lines file (with its rotated copies), or "
        "redis://host:6379/0?stream=bff:usage",
    )
    report.add_argument("--days", type=int, help="only the last N days (default: everything)")
    report.add_argument("--top", type=int, default=10, help="operations listed")
    deprecated = usage_commands.add_parser(
        "deprecated", help="who still uses each deprecated field, argument or enum value"
    )
    source = deprecated.add_mutually_exclusive_group()
    source.add_argument(
        "--metrics-url",
        action="append",
        help="a BFF's /metrics, once per server to add up (default: http://localhost:8000/metrics)",
    )
    source.add_argument(
        "--sink",
        help="read the usage a sink recorded instead: a usage JSON lines file, or "
        "redis://host:6379/0?stream=bff:usage",
    )
    deprecated.add_argument(
        "--days", type=int, help="with --sink: only the last N days (default: everything)"
    )
    options = parser.parse_args(args)
    if options.command == "documents":
        return _add_documents(options)
    if options.command == "usage":
        return _usage_command(options)
    if options.command == "settings":
        return _print_settings(markdown=options.markdown)
    if options.command == "schema":
        return _schema_command(options)
    try:
        settings = _with_overrides(Settings.from_environ(os.environ), options)
    except SettingsError as error:
        print(f"bff: {error}", file=sys.stderr)
        return 2
    from bff.cli.serve import serve as run_server
    from bff.contract.trusted_documents import read_manifest

    if settings.persisted.trusted_documents:
        try:
            read_manifest(Path(settings.persisted.trusted_documents))
        except ManifestError as error:
            print(f"bff: BFF_TRUSTED_DOCUMENTS: {error}", file=sys.stderr)
            return 2
    run_server(settings)
    return 0


def _server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="interface to listen on (BFF_HOST)")
    parser.add_argument("--port", type=int, help="port to listen on (BFF_PORT)")
    parser.add_argument("--workers", type=int, help="worker processes (BFF_WORKERS)")


def _with_overrides(settings: Settings, options: argparse.Namespace) -> Settings:
    from dataclasses import replace

    return replace(
        settings,
        host=options.host or settings.host,
        port=options.port or settings.port,
        workers=options.workers or settings.workers,
    )


def _print_settings(*, markdown: bool) -> int:
    if markdown:
        from bff.config.reference import markdown as reference

        print(reference(), end="")
        return 0
    for variable in Settings.documented():
        production = (
            f" (production: {variable.production or 'none'})"
            if variable.production != variable.default
            else ""
        )
        print(f"{variable.name}={variable.default}{production}\n    {variable.doc}")
    return 0


def _schema_command(options: argparse.Namespace) -> int:
    from bff.contract import schema_check
    from bff.security.privacy import personal_data
    from schema import build_schema

    if options.schema_command == "export":
        return schema_check.export(build_schema(), options.output)
    if options.schema_command == "check":
        try:
            return schema_check.check(
                build_schema(), options.against, usage=_schema_usage(options), days=options.days
            )
        except (OSError, RedisError, ManifestError) as error:
            print(f"bff: cannot read the usage: {error}", file=sys.stderr)
            return 2
    for coordinate in personal_data(build_schema()._schema):
        print(coordinate)
    return 0


def _add_documents(options: argparse.Namespace) -> int:
    from bff.contract.trusted_documents import add_operations
    from schema import build_schema

    manifest = Path(
        options.manifest or os.environ.get("BFF_TRUSTED_DOCUMENTS") or "trusted-documents.json"
    )
    try:
        added, known = add_operations(
            manifest, [Path(name) for name in options.files], build_schema()._schema
        )
    except ManifestError as error:
        print(f"bff: {error}", file=sys.stderr)
        return 1
    for operation in added:
        print(f"added {operation.type} {operation.name}  {operation.id}")
    print(f"{manifest}: {len(added)} added, {known} already there")
    return 0


def _usage_command(options: argparse.Namespace) -> int:
    from bff.contract.deprecation_usage import DEFAULT_URL, print_report, recorded, show_deprecated
    from bff.execution.deprecation import deprecated_coordinates
    from bff.product.analytics.report import render, schema_fields, summarise
    from schema import build_schema

    schema = build_schema()._schema
    if options.usage_command == "deprecated" and options.sink is None:
        return show_deprecated(options.metrics_url or [DEFAULT_URL], deprecated_coordinates(schema))
    data = _recorded_usage(options.sink, options.days)
    if data is None:
        return 2
    if options.usage_command == "report":
        sys.stdout.write(render(summarise(data, schema_fields(schema)), top=options.top))
        return 0
    deprecated = deprecated_coordinates(schema)
    print_report(recorded(data, deprecated), deprecated)
    return 0


def _recorded_usage(sink: str, days: int | None) -> UsageData | None:
    """What `sink` recorded in the last `days`; None (said on stderr) when it cannot be read."""
    from bff.product.analytics.records import read_usage
    from bff.product.analytics.sinks import read_events

    try:
        return read_usage(read_events(sink, _days_ago(days) if days is not None else None))
    except (OSError, RedisError) as error:
        print(f"bff: cannot read {sink}: {error}", file=sys.stderr)
        return None


def _schema_usage(options: argparse.Namespace) -> Callable[[GraphQLSchema], Usage] | None:
    """What `schema check --usage` weighs breaking changes against, read when needed."""
    from bff.contract.traffic_check import merged, usage_from_manifest, usage_from_records
    from bff.product.analytics.sinks import read_events

    if options.usage is None:
        return None
    manifest = options.documents or (
        Path(os.environ["BFF_TRUSTED_DOCUMENTS"])
        if os.environ.get("BFF_TRUSTED_DOCUMENTS")
        else None
    )

    def usage(old: GraphQLSchema) -> Usage:
        used = usage_from_records(read_events(options.usage, _days_ago(options.days)))
        documents = usage_from_manifest(manifest, old) if manifest is not None else {}
        return merged(used, documents)

    return usage


def _days_ago(days: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)
