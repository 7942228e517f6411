"""Preparing and executing GraphQL operations.

A request goes through three steps, each with its own failure code:
parse (GRAPHQL_PARSE_FAILED) and validate (GRAPHQL_VALIDATION_FAILED), both
cached per document (`bff.documents`), and pick the operation
(OPERATION_RESOLUTION_FAILURE) happen in `prepare`; variables
are coerced (BAD_USER_INPUT) and fields resolved in `execute`. Strawberry
supplies the schema and the resolver wrappers; graphql-core runs them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import strawberry
from cachetools import LRUCache
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    execute,
    get_operation_ast,
)

from bff.cache_policy import CachePolicies, CachePolicy
from bff.documents import DocumentCache
from resolvers.context import Context


class RequestFailure(Exception):
    """The request cannot run at all; carries the HTTP status and the GraphQL errors."""

    def __init__(self, status: int, code: str, errors: list[GraphQLError]) -> None:
        super().__init__(errors[0].message)
        self.status = status
        self.code = code
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Prepared:
    """A parsed, validated document, the operation in it to run, and its cache policy."""

    document: DocumentNode
    operation: OperationDefinitionNode
    sha256: str
    policy: CachePolicy

    @property
    def operation_type(self) -> OperationType:
        return self.operation.operation

    @property
    def operation_name(self) -> str | None:
        return self.operation.name.value if self.operation.name else None


class Operations:
    """Runs operations against one schema."""

    def __init__(self, schema: strawberry.Schema, *, document_cache_size: int = 1000) -> None:
        # Strawberry keeps the graphql-core schema it builds in `_schema`; the
        # pinned version range keeps this private attribute stable.
        self._schema = schema._schema
        self._executor_class = schema.execution_context_class
        self._documents = DocumentCache(self._schema, document_cache_size)
        self._policies = CachePolicies(self._schema)
        self._prepared: LRUCache[tuple[str, str | None], Prepared] | None = (
            LRUCache(document_cache_size) if document_cache_size > 0 else None
        )

    def prepare(self, query: str, operation_name: str | None) -> Prepared:
        """The operation to run; after the first time, one dictionary lookup."""
        if self._prepared is None:
            return self._prepare(query, operation_name)
        prepared = self._prepared.get((query, operation_name))
        if prepared is None:
            prepared = self._prepared[(query, operation_name)] = self._prepare(
                query, operation_name
            )
        return prepared

    def _prepare(self, query: str, operation_name: str | None) -> Prepared:
        document = self._documents.get(query)
        if document.node is None:
            assert document.error_code is not None
            raise RequestFailure(400, document.error_code, list(document.errors))
        operation = get_operation_ast(document.node, operation_name)
        if operation is None:
            message = (
                f"Unknown operation named {operation_name!r}."
                if operation_name
                else "The document holds several operations: name one in `operationName`."
            )
            raise RequestFailure(400, "OPERATION_RESOLUTION_FAILURE", [GraphQLError(message)])
        policy = self._policies.policy(document.node, operation)
        return Prepared(document.node, operation, document.sha256, policy)

    async def execute(
        self, prepared: Prepared, variables: Mapping[str, object] | None, context: Context
    ) -> ExecutionResult:
        outcome = execute(
            self._schema,
            prepared.document,
            context_value=context,
            variable_values=dict(variables) if variables else None,
            operation_name=prepared.operation_name,
            executor_class=self._executor_class,
        )
        result = await outcome if not isinstance(outcome, ExecutionResult) else outcome
        if result.data is None and result.errors and all(e.path is None for e in result.errors):
            # No field ran: the variables could not be coerced to their types.
            raise RequestFailure(400, "BAD_USER_INPUT", list(result.errors))
        return result
