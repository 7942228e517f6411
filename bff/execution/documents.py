"""Reading a GraphQL document: counting its tokens, parsing and validating it.

Each step is bounded before it starts (see docs/execution.md, Preparing a
document).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import graphql.validation.rules.overlapping_fields_can_be_merged as overlapping
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    NoSchemaIntrospectionCustomRule,
    parse,
    specified_rules,
    validate,
)
from graphql.validation.validate import ValidationAbortedError
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from bff.execution.errors import RequestFailure
from clients.errors import ErrorCode

# GraphQL's tokens, close enough to count them in C before the Python parser
# runs: block strings, strings, comments (group 1, not counted), names,
# numbers, punctuators. Every quantifier is possessive and an unterminated
# string ends at its line's end (a block string at the document's), so no
# match is ever retried from a later position: the scan is linear.
_TOKEN = re.compile(
    r'"""(?:\\"""|[^"\\]|\\|"(?!""))*+(?:"""|\Z)'
    r'|"(?:[^"\\\n\r]|\\.)*+"?'
    r"|(#[^\n\r]*+)"
    r"|[A-Za-z_][A-Za-z0-9_]*+"
    r"|-?\d++(?:\.\d++)?+(?:[eE][+-]?\d++)?+"
    r"|\.\.\.|[!$&()\[\]{}:=@|]"
)
_OVER_LIMIT = re.compile(r"contains more than \d+ (tokens|comments)")


def sha256_of(query: str) -> str:
    """A document's id: the hex SHA-256 of its text, as persisted queries name it."""
    return hashlib.sha256(query.encode()).hexdigest()


def count_tokens(query: str, limit: int) -> int:
    """The document's tokens, comments left out, counted up to `limit + 1`."""
    counted = 0
    for match in _TOKEN.finditer(query):
        if match.group(1) is None:
            counted += 1
            if counted > limit:
                break
    return counted


def parse_document(query: str, max_tokens: int) -> DocumentNode:
    """The document's AST; a `RequestFailure` when it is too long or not GraphQL."""
    # Every token takes a character, so a short document needs no count.
    if len(query) > max_tokens and count_tokens(query, max_tokens) > max_tokens:
        raise _over_limit("tokens", max_tokens)
    try:
        return parse(query, max_lexical_tokens=max_tokens, max_comments=max_tokens)
    except GraphQLError as error:
        over = _OVER_LIMIT.search(error.message)
        if over is not None:
            raise _over_limit(over.group(1), max_tokens) from None
        raise RequestFailure(400, ErrorCode.GRAPHQL_PARSE_FAILED, [error]) from None


def _over_limit(what: str, max_tokens: int) -> RequestFailure:
    limited = GraphQLError(
        f"The document has more than {max_tokens} {what}, over the limit (set by BFF_MAX_TOKENS).",
        extensions={"limit": what, "maximum": max_tokens},
    )
    return RequestFailure(400, ErrorCode.OPERATION_LIMIT_EXCEEDED, [limited])


class Validator:
    """graphql-core's validation with the schema's rules, the introspection switch and budgets."""

    def __init__(self, schema: GraphQLSchema, *, introspection: bool, work: int) -> None:
        self._schema = schema
        rules = [*specified_rules, MaybeNullValidationRule, OneOfInputValidationRule]
        if not introspection:
            rules.append(NoSchemaIntrospectionCustomRule)
        self._rules = tuple(rules)
        self.suggestions = introspection
        self._work = work

    def validate(self, document: DocumentNode) -> None:
        """Raise a `RequestFailure` naming what is wrong with the document."""
        # graphql-core reads its budget from this module attribute when validation starts.
        overlapping.MAX_COMPLEXITY_BUDGET = self._work
        errors = validate(
            self._schema, document, self._rules, hide_suggestions=not self.suggestions
        )
        if any(isinstance(error, ValidationAbortedError) for error in errors):
            raise _too_complex(errors, self._work) from None
        if errors:
            raise RequestFailure(400, ErrorCode.GRAPHQL_VALIDATION_FAILED, errors)


def _too_complex(errors: Sequence[GraphQLError], work: int) -> RequestFailure:
    if len(errors) > 1 and "error limit reached" in errors[-1].message:
        # Aborted for having too many errors: report those found.
        return RequestFailure(400, ErrorCode.GRAPHQL_VALIDATION_FAILED, errors)
    limited = GraphQLError(
        "The document is too costly to validate: its fields overlap in more ways than the "
        f"validation budget of {work} comparisons allows (set by BFF_MAX_VALIDATION_WORK).",
        extensions={"limit": "validation work", "maximum": work},
    )
    return RequestFailure(400, ErrorCode.OPERATION_LIMIT_EXCEEDED, [limited])


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    """The document's fragment definitions by name."""
    return {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
