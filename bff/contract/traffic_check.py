"""Breaking changes judged against real traffic: who would a change break?

Behind `bff schema check --usage` (see docs/api-contract.md, Checking against
real traffic).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path

from graphql import GraphQLError, GraphQLSchema, OperationDefinitionNode, parse

from bff.contract.schema_check import Change, Usage
from bff.contract.trusted_documents import read_manifest
from bff.execution.coordinates import used_coordinates
from bff.product.analytics.events import JsonObject
from bff.product.analytics.records import read_usage

_FIELD = re.compile(r"\b([A-Za-z_]\w*\.[A-Za-z_]\w*(?:\([A-Za-z_]\w*:\))?)")
_TYPE = re.compile(r"^(?:Type )?([A-Za-z_]\w*) (?:was removed|changed from|was removed from)")


def usage_from_records(records: Iterable[JsonObject]) -> dict[str, set[str]]:
    """The clients that used each coordinate, by the usage records of a sink."""
    used: defaultdict[str, set[str]] = defaultdict(set)
    for use in read_usage(records).uses:
        for coordinate in use.fields:
            used[coordinate].add(use.client_label)
    return dict(used)


def usage_from_manifest(manifest: Path, schema: GraphQLSchema) -> dict[str, set[str]]:
    """The coordinates each trusted document uses, read against the schema it was built for."""
    used: defaultdict[str, set[str]] = defaultdict(set)
    for operation in read_manifest(manifest):
        try:
            document = parse(operation.body)
        except GraphQLError:
            continue
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                label = f"trusted document {operation.name or operation.id}"
                for coordinate in used_coordinates(schema, document, definition):
                    used[coordinate].add(label)
    return dict(used)


def merged(*usages: Mapping[str, set[str]]) -> Usage:
    combined: defaultdict[str, set[str]] = defaultdict(set)
    for usage in usages:
        for coordinate, clients in usage.items():
            combined[coordinate] |= clients
    return {coordinate: frozenset(clients) for coordinate, clients in combined.items()}


def affected(change: Change, usage: Usage) -> frozenset[str] | None:
    """The clients a change breaks; None when usage cannot tell (so: assume everyone)."""
    field = _FIELD.search(change.description)
    if field is not None:
        coordinate = field.group(1)
        if "(" in coordinate and change.kind != "ARG_REMOVED":
            coordinate = coordinate.split("(")[0]
        return usage.get(coordinate, frozenset())
    named = _TYPE.search(change.description)
    if named is None:
        return None
    prefix = named.group(1) + "."
    clients: set[str] = set()
    for coordinate, users in usage.items():
        if coordinate.startswith(prefix):
            clients |= users
    return frozenset(clients)


def describe(clients: frozenset[str] | None, days: int) -> str:
    if clients is None:
        return "usage cannot tell who this breaks"
    if not clients:
        return f"no client used it in the last {days} days"
    return "used in the last {} days by {}".format(days, ", ".join(sorted(clients)))
