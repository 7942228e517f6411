"""Parsing and validating each distinct GraphQL document once.

Frontends send the same few documents over and over; parsing and validating
one costs far more than executing a small query, so both outcomes are kept in
LRUs keyed by the document's text (parsing) and hash (validation), refusals
included, so a client repeating a bad or abusive document costs a lookup
after the first time. Parsing stops at `max_tokens`, before a huge document
can tie up the process; validation runs only for documents that passed the
operation limits (`bff.limits`), which are checked in between.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from cachetools import LRUCache
from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    NoSchemaIntrospectionCustomRule,
    parse,
    specified_rules,
)
from opentelemetry.trace import NoOpTracer, Tracer
from strawberry.schema.schema import validate_document

_TOO_MANY_TOKENS = "Document contains more than"
# GraphQL's tokens, close enough to count them in C before the Python parser runs:
# block strings, strings, comments (skipped), names, numbers, punctuators.
_TOKEN = re.compile(
    r'"""(?:\\"""|[^"]|"(?!""))*"""|"(?:\\.|[^"\\\n])*"|(#[^\n]*)'
    r"|[A-Za-z_][A-Za-z0-9_]*|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\.\.\.|[!$&()\[\]{}:=@|]"
)


def sha256_of(query: str) -> str:
    """A document's id: the hex SHA-256 of its text, as persisted queries name it."""
    return hashlib.sha256(query.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Document:
    """A document as received: its SHA-256, and either its AST or why it was refused."""

    sha256: str
    node: DocumentNode | None
    errors: tuple[GraphQLError, ...] = ()
    error_code: str | None = None


class DocumentCache:
    """Parse on first sight, validate on first use; afterwards lookups. Size 0: no cache."""

    def __init__(
        self,
        schema: GraphQLSchema,
        size: int,
        *,
        max_tokens: int = 5_000,
        introspection: bool = True,
        tracer: Tracer | None = None,
    ) -> None:
        self._schema = schema
        rules = list(specified_rules)
        if not introspection:
            rules.append(NoSchemaIntrospectionCustomRule)
        self._rules = tuple(rules)
        self._max_tokens = max_tokens
        self._parsed: LRUCache[str, Document] | None = LRUCache(size) if size > 0 else None
        self._validated: LRUCache[str, tuple[GraphQLError, ...]] | None = (
            LRUCache(size) if size > 0 else None
        )
        self._tracer = tracer or NoOpTracer()
        self.hits = 0
        self.misses = 0

    def get(self, query: str) -> Document:
        if self._parsed is None:
            return self._parse(query)
        document = self._parsed.get(query)
        if document is None:
            self.misses += 1
            document = self._parsed[query] = self._parse(query)
        else:
            self.hits += 1
        return document

    def validation_errors(self, document: Document) -> tuple[GraphQLError, ...]:
        assert document.node is not None
        if self._validated is not None:
            known = self._validated.get(document.sha256)
            if known is not None:
                return known
        with self._tracer.start_as_current_span("graphql.validate"):
            errors = tuple(validate_document(self._schema, document.node, self._rules))
        if self._validated is not None:
            self._validated[document.sha256] = errors
        return errors

    def _parse(self, query: str) -> Document:
        sha256 = sha256_of(query)
        if self._too_many_tokens(query):
            return self._over_token_limit(sha256)
        try:
            with self._tracer.start_as_current_span("graphql.parse"):
                node = parse(query, max_tokens=self._max_tokens)
        except GraphQLError as error:
            if _TOO_MANY_TOKENS in error.message:
                return self._over_token_limit(sha256)
            return Document(sha256, None, (error,), "GRAPHQL_PARSE_FAILED")
        return Document(sha256, node)

    def _too_many_tokens(self, query: str) -> bool:
        """A count that stops at the limit: refusing a huge document costs well under 1 ms."""
        if len(query) <= self._max_tokens:
            return False
        counted = 0
        for match in _TOKEN.finditer(query):
            if match.group(1) is None:
                counted += 1
                if counted > self._max_tokens:
                    return True
        return False

    def _over_token_limit(self, sha256: str) -> Document:
        limited = GraphQLError(
            f"The document has more than {self._max_tokens} tokens, over the limit "
            "(set by BFF_MAX_TOKENS).",
            extensions={"limit": "tokens", "maximum": self._max_tokens},
        )
        return Document(sha256, None, (limited,), "OPERATION_LIMIT_EXCEEDED")
