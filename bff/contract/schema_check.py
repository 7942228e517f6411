"""The schema as a versioned artifact: its SDL, and what changed against a copy.

Behind `bff schema export` and `bff schema check` (see docs/api-contract.md).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import strawberry
from graphql import (
    BreakingChangeType,
    DangerousChangeType,
    GraphQLError,
    GraphQLSchema,
    find_schema_changes,
)
from graphql import build_schema as build_from_sdl

from bff.execution.deprecation import deprecated_coordinates

SEVERITIES = ("breaking", "dangerous", "safe")
Usage = Mapping[str, frozenset[str]]
"""Coordinate → the clients that used it (`bff.contract.traffic_check`)."""

_REMOVALS = frozenset(
    {
        BreakingChangeType.FIELD_REMOVED,
        BreakingChangeType.ARG_REMOVED,
        BreakingChangeType.VALUE_REMOVED_FROM_ENUM,
    }
)
# graphql-core words every removal "... <coordinate> was removed."
_REMOVED = re.compile(r" (\S+) was removed\.$")


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between two schemas, in words."""

    severity: str
    """breaking, dangerous or safe."""
    kind: str
    """graphql-core's name for it, e.g. FIELD_REMOVED."""
    description: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.description.removesuffix('.')} ({self.kind})"


class SchemaFileError(Exception):
    """The file to compare with is missing or is not a valid schema."""


def schema_sdl(schema: strawberry.Schema) -> str:
    """The SDL `bff schema export` writes: sorted, with the schema's own directives."""
    return schema.as_str() + "\n"


def load_sdl(path: Path) -> GraphQLSchema:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SchemaFileError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        return build_from_sdl(text)
    except (GraphQLError, TypeError) as error:
        message = str(error).splitlines()[0]
        raise SchemaFileError(f"{path} is not a valid GraphQL schema: {message}") from None


def changes(old: GraphQLSchema, new: GraphQLSchema) -> list[Change]:
    """What changed from `old` to `new`: breaking changes first, then dangerous, then safe."""
    deprecated = deprecated_coordinates(old)
    found = []
    for change in find_schema_changes(old, new):
        description = change.description
        if isinstance(change.type, BreakingChangeType):
            severity = "breaking"
            removed = _REMOVED.search(description) if change.type in _REMOVALS else None
            if removed and removed.group(1) not in deprecated:
                description = description.removesuffix(".") + " without being deprecated first."
        elif isinstance(change.type, DangerousChangeType):
            severity = "dangerous"
        else:
            severity = "safe"
        found.append(Change(severity, change.type.name, description))
    return sorted(found, key=lambda change: SEVERITIES.index(change.severity))


def export(schema: strawberry.Schema, output: Path | None) -> int:
    """`bff schema export`: the SDL to a file, or to stdout."""
    sdl = schema_sdl(schema)
    if output is None:
        sys.stdout.write(sdl)
    else:
        output.write_text(sdl, encoding="utf-8")
    return 0


def check(
    schema: strawberry.Schema,
    against: Path,
    *,
    usage: Callable[[GraphQLSchema], Usage] | None = None,
    days: int = 0,
) -> int:
    """`bff schema check`: 1 on a breaking change, 2 when `against` cannot be read.

    With `usage` (what clients used, read against the old schema), a breaking
    change fails only if a client used what it breaks (`bff.contract.traffic_check`).
    """
    from bff.contract.traffic_check import affected, describe

    try:
        old = load_sdl(against)
    except SchemaFileError as error:
        print(f"bff: {error}", file=sys.stderr)
        return 2
    found = changes(old, build_from_sdl(schema_sdl(schema)))
    if not found:
        print(f"The running schema matches {against}.")
        return 0
    used = usage(old) if usage is not None else None
    blocking = 0
    for change in found:
        if change.severity != "breaking":
            print(change)
            continue
        if used is None:
            blocking += 1
            print(change)
            continue
        clients = affected(change, used)
        blocking += clients is None or bool(clients)
        print(f"{change}: {describe(clients, days)}")
    counts = {severity: sum(c.severity == severity for c in found) for severity in SEVERITIES}
    print(
        f"{against} differs from the running schema: "
        + ", ".join(f"{count} {severity}" for severity, count in counts.items())
        + "."
    )
    if used is not None and counts["breaking"]:
        print(
            f"{blocking} of the breaking changes touch what clients sent in the last {days} days."
        )
    if blocking:
        print(
            "Breaking changes fail clients still sending the old shape: deprecate with "
            "@deprecated(reason:) first, and remove once `bff usage deprecated` sees no use."
        )
    print(f"To accept the changes, run `bff schema export --output {against}` and commit it.")
    return 1 if blocking else 0
