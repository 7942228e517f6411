"""Trusted documents: the operations an app was built with, by id.

Reads the manifest (Apollo's format or a plain `{id: document}` map) and adds
operations to it for `bff documents add` (see docs/api-contract.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import orjson
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    Node,
    OperationDefinitionNode,
    parse,
    print_ast,
    validate,
)
from graphql.language import Visitor, visit

from bff.config.reloading import LoadError, ReloadingFile
from bff.execution.documents import sha256_of

APOLLO_FORMAT: Final = "apollo-persisted-query-manifest"


class ManifestError(LoadError):
    """The manifest cannot be read; the message says where and why."""


@dataclass(frozen=True, slots=True)
class Operation:
    id: str
    name: str
    type: str
    body: str


@dataclass(frozen=True, slots=True)
class _Index:
    by_id: Mapping[str, str]
    by_sha256: Mapping[str, str]


def _index(path: Path) -> _Index:
    operations = read_manifest(path)
    return _Index(
        {operation.id: operation.body for operation in operations},
        {sha256_of(operation.body): operation.body for operation in operations},
    )


class TrustedDocuments:
    """The manifest in force, by id and by the SHA-256 of each body."""

    def __init__(self, path: Path) -> None:
        self.file = ReloadingFile(path, _index, what="trusted documents")

    def __len__(self) -> int:
        return len(self.file.current.by_id)

    def get(self, document_id: str) -> str | None:
        index = self.file.current
        return index.by_id.get(document_id) or index.by_sha256.get(document_id)

    def has_sha256(self, sha256: str) -> bool:
        return sha256 in self.file.current.by_sha256


def read_manifest(path: Path) -> list[Operation]:
    try:
        decoded = orjson.loads(path.read_bytes())
    except OSError as error:
        raise ManifestError(f"{path}: cannot read the manifest ({error.strerror})") from None
    except orjson.JSONDecodeError as error:
        raise ManifestError(f"{path}: not JSON ({error})") from None
    if not isinstance(decoded, dict):
        raise ManifestError(f"{path}: a manifest is a JSON object")
    if decoded.get("format") == APOLLO_FORMAT:
        return _apollo_operations(path, decoded)
    operations = []
    for document_id, body in decoded.items():
        if not isinstance(body, str):
            raise ManifestError(f"{path}: the document for {document_id!r} is not a string")
        operations.append(Operation(document_id, "", "", body))
    return operations


def _apollo_operations(path: Path, manifest: Mapping[str, object]) -> list[Operation]:
    if manifest.get("version") != 1:
        raise ManifestError(f"{path}: only version 1 of {APOLLO_FORMAT} is understood")
    entries = manifest.get("operations")
    if not isinstance(entries, list):
        raise ManifestError(f"{path}: `operations` must be a list")
    operations = []
    for index, entry in enumerate(entries):
        fields = (
            [entry.get(name) for name in ("id", "name", "type", "body")]
            if isinstance(entry, dict)
            else []
        )
        if len(fields) != 4 or not all(isinstance(value, str) for value in fields):
            raise ManifestError(
                f"{path}: operation {index} needs string `id`, `name`, `type` and `body`"
            )
        operations.append(Operation(*(str(value) for value in fields)))
    return operations


def add_operations(
    manifest: Path, sources: Iterable[Path], schema: GraphQLSchema
) -> tuple[list[Operation], int]:
    """Add the named operations of `sources` to `manifest` (created when missing).

    Existing entries stay, so older app versions keep working. Returns the
    operations added and how many were already there; raises `ManifestError`
    when a file does not parse or validate.
    """
    known = read_manifest(manifest) if manifest.exists() else []
    known_ids = {operation.id for operation in known}
    found = _operations_in(list(sources), schema)
    added = [operation for operation in found if operation.id not in known_ids]
    if added:
        entries = sorted([*known, *added], key=lambda operation: (operation.name, operation.id))
        document = {
            "format": APOLLO_FORMAT,
            "version": 1,
            "operations": [
                {"id": op.id, "name": op.name, "type": op.type, "body": op.body} for op in entries
            ],
        }
        manifest.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    return added, len(found) - len(added)


def _operations_in(sources: list[Path], schema: GraphQLSchema) -> list[Operation]:
    documents = [_parsed(path) for path in sources]
    fragments: dict[str, FragmentDefinitionNode] = {}
    for document in documents:
        for definition in document.definitions:
            if isinstance(definition, FragmentDefinitionNode):
                fragments[definition.name.value] = definition
    operations = []
    for path, document in zip(sources, documents, strict=True):
        for definition in document.definitions:
            if not isinstance(definition, OperationDefinitionNode):
                continue
            if definition.name is None:
                raise ManifestError(f"{path}: every operation needs a name")
            used = _fragments_used(definition, fragments, path)
            single = DocumentNode(definitions=(definition, *used))
            errors = validate(schema, single)
            if errors:
                raise ManifestError(f"{path}: {definition.name.value}: {_first(errors)}")
            body = print_ast(single)
            operations.append(
                Operation(sha256_of(body), definition.name.value, definition.operation.value, body)
            )
    return operations


def _parsed(path: Path) -> DocumentNode:
    try:
        return parse(path.read_text())
    except OSError as error:
        raise ManifestError(f"{path}: {error.strerror}") from None
    except GraphQLError as error:
        raise ManifestError(f"{path}: {error.message}") from None


def _fragments_used(
    node: Node, fragments: Mapping[str, FragmentDefinitionNode], path: Path
) -> list[FragmentDefinitionNode]:
    """Every fragment `node` spreads, directly or through other fragments, by name."""
    found: dict[str, FragmentDefinitionNode] = {}
    pending = [node]
    while pending:
        spreads = _SpreadNames()
        visit(pending.pop(), spreads)
        for name in spreads.names:
            if name in found:
                continue
            if name not in fragments:
                raise ManifestError(f"{path}: fragment {name} is not defined in the files given")
            found[name] = fragments[name]
            pending.append(fragments[name])
    return [found[name] for name in sorted(found)]


class _SpreadNames(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: object) -> None:
        self.names.append(node.name.value)


def _first(errors: list[GraphQLError]) -> str:
    return errors[0].message
