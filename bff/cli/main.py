"""The `bff` command: serve the BFF, run the demo services, inspect settings."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
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
    if args and args[0] == "downstream":
        from demo.cli import main as downstream

        return downstream(args[1:])
    parser = argparse.ArgumentParser(prog="bff", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the BFF (settings from BFF_* variables)")
    _server_options(serve)
    demo = commands.add_parser("demo", help="run the demo services and the BFF together")
    _server_options(demo)
    commands.add_parser("downstream", help="run demo downstream services (see --help)")
    listing = commands.add_parser("settings", help="list every BFF_* variable with its defaults")
    listing.add_argument(
        "--markdown", action="store_true", help="as docs/configuration.md, a Markdown reference"
    )
    token = commands.add_parser("token", help="print a demo-signed bearer token (development)")
    token.add_argument("--sub", required=True, help="the user the token is for, e.g. u1")
    token.add_argument("--scope", default="", help='space-separated scopes, e.g. "orders:write"')
    token.add_argument("--roles", default="", help='comma-separated roles, e.g. "admin"')
    token.add_argument("--ttl", type=int, default=3600, help="seconds the token is valid")
    token.add_argument("--alg", choices=("RS256", "ES256"), default="RS256")
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
    if options.command == "token":
        return _print_token(options)
    try:
        settings = _with_overrides(Settings.from_environ(os.environ), options)
    except SettingsError as error:
        print(f"bff: {error}", file=sys.stderr)
        return 2
    from bff.cli.serve import serve as run_server
    from bff.contract.trusted_documents import ManifestError, read_manifest

    if settings.persisted.trusted_documents:
        try:
            read_manifest(Path(settings.persisted.trusted_documents))
        except ManifestError as error:
            print(f"bff: BFF_TRUSTED_DOCUMENTS: {error}", file=sys.stderr)
            return 2
    if options.command == "serve":
        run_server(settings)
        return 0
    return _demo(settings if options.workers else demo_workers(settings, os.environ))


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


def demo_workers(settings: Settings, environ: Mapping[str, str]) -> Settings:
    """`bff demo` runs one worker unless BFF_WORKERS (or `--workers`) asks for more.

    The demo is someone trying the BFF out: one worker serves far more than they
    send, and keeps what they look at whole. Its caches answer the second
    request (the debug view says so), a persisted query registered once is
    known, every counter is in one place. Several workers share metrics, and
    APQ registrations and rate limits through Redis, but each keeps its own
    caches, so the same request would be a cache hit or not by chance.
    """
    from dataclasses import replace

    return settings if "BFF_WORKERS" in environ else replace(settings, workers=1)


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
    from bff.contract.trusted_documents import ManifestError, add_operations
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


def _print_token(options: argparse.Namespace) -> int:
    """A token the demo identity provider's keys sign; any BFF in the demo profile accepts it."""
    from demo.identity import IdentityProvider

    provider = IdentityProvider()
    kid = next(key.kid for key in provider.keys if key.alg == options.alg)
    roles = [role.strip() for role in options.roles.split(",") if role.strip()]
    print(provider.sign(options.sub, scope=options.scope, roles=roles, ttl_s=options.ttl, kid=kid))
    return 0


def _demo(settings: Settings) -> int:
    """Start every demo service in a child process, then the BFF in this one."""
    from bff.cli.serve import serve as run_server

    # uvicorn re-raises SIGTERM after its graceful shutdown; turning it into
    # SystemExit lets the `finally` below stop the child instead of orphaning it.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    child = subprocess.Popen(
        [sys.executable, "-m", "demo", "all"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        for line in child.stdout:
            print(line, end="", flush=True)
            if line.strip() == "demo services ready":
                break
        else:
            print("bff: the demo services did not start", file=sys.stderr)
            return 1
        # Keep relaying the child's output so its pipe never fills up and blocks it.
        threading.Thread(target=_relay, args=(child.stdout,), daemon=True).start()
        print(
            f"GraphiQL: http://{settings.host}:{settings.port}/graphql  "
            f"(readiness: http://{settings.host}:{settings.port}/readyz)",
            flush=True,
        )
        run_server(settings)
        return 0
    finally:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def _relay(lines: Iterable[str]) -> None:
    for line in lines:
        print(line, end="", flush=True)
