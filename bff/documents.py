"""Parsing and validating each distinct GraphQL document once.

Frontends send the same few documents over and over; parsing and validating
one costs far more than executing a small query, so the outcome (a validated
document, or the errors that reject it) is kept in an LRU keyed by the
document's text. Rejections are kept too, so a client repeating a bad or
abusive document costs one dictionary lookup after the first time.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cachetools import LRUCache
from graphql import DocumentNode, GraphQLError, GraphQLSchema, parse, specified_rules
from opentelemetry.trace import NoOpTracer, Tracer
from strawberry.schema.schema import validate_document


@dataclass(frozen=True, slots=True)
class Document:
    """A document as received: its SHA-256, and either its AST or why it was refused."""

    sha256: str
    node: DocumentNode | None
    errors: tuple[GraphQLError, ...] = ()
    error_code: str | None = None


class DocumentCache:
    """Parse and validate on first sight; afterwards a lookup. `size` 0 disables the cache."""

    def __init__(self, schema: GraphQLSchema, size: int, tracer: Tracer | None = None) -> None:
        self._schema = schema
        self._rules = tuple(specified_rules)
        self._cache: LRUCache[str, Document] | None = LRUCache(size) if size > 0 else None
        self._tracer = tracer or NoOpTracer()
        self.hits = 0
        self.misses = 0

    def get(self, query: str) -> Document:
        if self._cache is None:
            return self._load(query)
        document = self._cache.get(query)
        if document is None:
            self.misses += 1
            document = self._cache[query] = self._load(query)
        else:
            self.hits += 1
        return document

    def _load(self, query: str) -> Document:
        sha256 = hashlib.sha256(query.encode()).hexdigest()
        try:
            with self._tracer.start_as_current_span("graphql.parse"):
                node = parse(query)
        except GraphQLError as error:
            return Document(sha256, None, (error,), "GRAPHQL_PARSE_FAILED")
        with self._tracer.start_as_current_span("graphql.validate"):
            errors = validate_document(self._schema, node, self._rules)
        if errors:
            return Document(sha256, None, tuple(errors), "GRAPHQL_VALIDATION_FAILED")
        return Document(sha256, node)
