"""Preparing and executing GraphQL operations.

A request goes through three steps, each with its own failure code:
parse (GRAPHQL_PARSE_FAILED) and validate (GRAPHQL_VALIDATION_FAILED), both
cached per document (`bff.documents`), and pick the operation
(OPERATION_RESOLUTION_FAILURE) happen in `prepare`; variables
are coerced (BAD_USER_INPUT) and fields resolved in `execute`. Strawberry
supplies the schema and the resolver wrappers; graphql-core runs them.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from inspect import isawaitable
from typing import cast

import strawberry
from cachetools import LRUCache
from graphql import (
    DocumentNode,
    ExecutionResult,
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    execute,
    get_operation_ast,
    get_variable_values,
    subscribe,
)
from opentelemetry.trace import Tracer

from bff.cache_policy import CachePolicies, CachePolicy
from bff.coordinates import used_coordinates
from bff.deprecation import deprecated_among, deprecated_coordinates
from bff.documents import DocumentCache
from bff.executor import PathTrackingExecutor, PlannedExecution, SubscriptionExecutor
from bff.limits import LimitExceeded, Limits, check, measure
from bff.plan import ObjectPlan, build_plan, condition_variables, plannable
from bff.privacy import personal_variables
from bff.tracing import document_signature
from resolvers.context import Context


class RequestFailure(Exception):
    """The request cannot run at all; carries the HTTP status and the GraphQL errors.

    `status` is what `application/graphql-response+json` callers get. A 400 is a
    GraphQL request error (bad JSON, parameters, document or variables), which
    legacy `application/json` callers get as a 200, as GraphQL over HTTP asks;
    `legacy_status` overrides that for refusals that are not GraphQL's business.
    """

    def __init__(
        self,
        status: int,
        code: str,
        errors: list[GraphQLError],
        headers: Mapping[str, str] | None = None,
        *,
        legacy_status: int | None = None,
    ) -> None:
        super().__init__(errors[0].message)
        self.status = status
        self.code = code
        self.errors = errors
        self.headers = dict(headers or {})
        if legacy_status is None:
            legacy_status = 200 if status == 400 else status
        self.legacy_status = legacy_status


@dataclass(frozen=True, slots=True)
class Prepared:
    """A parsed, validated document, the operation in it to run, and its cache policy.

    `plans` memoises execution plans by the values of `conditions`, the
    variables that decide an `@skip` or `@include`; `plannable` is False for
    what only graphql-core runs (mutations, introspection).
    """

    document: DocumentNode
    operation: OperationDefinitionNode
    sha256: str
    policy: CachePolicy
    plannable: bool
    conditions: tuple[str, ...]
    signature: str
    """The document with literals blanked, as traces record it."""
    cost: int
    """The estimated cost (`bff.limits`), what rate limits charge."""
    personal_variables: frozenset[str]
    """Variables feeding `@personalData` arguments: errors never echo their values."""
    coordinates: tuple[str, ...] = ()
    """The schema coordinates the operation uses (`bff.coordinates`), for usage analytics."""
    deprecated: Mapping[str, str] = field(default_factory=dict)
    """Deprecated coordinates the operation uses, with their reasons (`bff.deprecation`)."""
    plans: dict[tuple[object, ...], ObjectPlan] = field(default_factory=dict, compare=False)

    @property
    def operation_type(self) -> OperationType:
        return self.operation.operation

    @property
    def operation_name(self) -> str | None:
        return self.operation.name.value if self.operation.name else None


class Operations:
    """Runs operations against one schema."""

    def __init__(
        self,
        schema: strawberry.Schema,
        *,
        document_cache_size: int = 1000,
        planned: bool = True,
        tracer: Tracer | None = None,
        resolver_spans: bool = False,
        limits: Limits | None = None,
        max_tokens: int = 5_000,
        introspection: bool = True,
    ) -> None:
        # Strawberry keeps the graphql-core schema it builds in `_schema`; the
        # pinned version range keeps this private attribute stable.
        self._strawberry = schema
        self._schema = schema._schema
        self._planned = planned
        self._executor_class = PathTrackingExecutor
        self._documents = DocumentCache(
            self._schema,
            document_cache_size,
            max_tokens=max_tokens,
            introspection=introspection,
            tracer=tracer,
        )
        self._limits = limits
        self._resolver_tracer = tracer if resolver_spans else None
        self._policies = CachePolicies(self._schema)
        self._deprecations = deprecated_coordinates(self._schema)
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

    def document_cache_counts(self) -> tuple[int, int]:
        """Hits and misses of the document cache so far."""
        return self._documents.hits, self._documents.misses

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
        fragments = {
            definition.name.value: definition
            for definition in document.node.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        list_size = self._limits.default_list_size if self._limits else 10
        measures = measure(self._schema, fragments, operation, list_size)
        if self._limits is not None:
            try:
                check(measures, self._limits)
            except LimitExceeded as exceeded:
                raise RequestFailure(400, "OPERATION_LIMIT_EXCEEDED", [exceeded.error]) from None
        errors = self._documents.validation_errors(document)
        if errors:
            raise RequestFailure(400, "GRAPHQL_VALIDATION_FAILED", list(errors))
        coordinates = used_coordinates(self._schema, document.node, operation)
        return Prepared(
            document=document.node,
            operation=operation,
            sha256=document.sha256,
            policy=self._policies.policy(document.node, operation),
            plannable=plannable(document.node, operation),
            conditions=condition_variables(document.node, operation),
            signature=document_signature(document.node),
            cost=measures.cost,
            personal_variables=personal_variables(self._schema, document.node),
            coordinates=coordinates,
            deprecated=deprecated_among(self._deprecations, coordinates),
        )

    async def execute(
        self, prepared: Prepared, variables: Mapping[str, object] | None, context: Context
    ) -> ExecutionResult:
        if prepared.operation_type == OperationType.SUBSCRIPTION:
            message = "Subscriptions are served over a WebSocket (graphql-transport-ws), not HTTP."
            raise RequestFailure(400, "BAD_REQUEST", [GraphQLError(message)])
        if self._planned and prepared.plannable:
            return await self._execute_planned(prepared, variables, context)
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
            raise RequestFailure(400, "BAD_USER_INPUT", _redacted(result.errors, prepared))
        return result

    async def _execute_planned(
        self, prepared: Prepared, variables: Mapping[str, object] | None, context: Context
    ) -> ExecutionResult:
        coerced = get_variable_values(
            self._schema, prepared.operation.variable_definitions or (), dict(variables or {})
        )
        if isinstance(coerced, list):
            raise RequestFailure(400, "BAD_USER_INPUT", _redacted(coerced, prepared))
        key = tuple(coerced.coerced.get(name) for name in prepared.conditions)
        plan = prepared.plans.get(key)
        if plan is None:
            plan = prepared.plans[key] = build_plan(
                self._schema, prepared.document, prepared.operation, coerced.coerced
            )
        execution = PlannedExecution(
            self._strawberry, prepared.operation, coerced, context, tracer=self._resolver_tracer
        )
        data = await execution.run(plan)
        return ExecutionResult(data=data, errors=execution.errors or None)

    async def subscribe(
        self,
        prepared: Prepared,
        variables: Mapping[str, object] | None,
        context: Context,
        event_context: Callable[[], Context],
    ) -> AsyncGenerator[ExecutionResult] | ExecutionResult:
        """A subscription's response stream, or the errors that kept it from starting.

        The source stream is resolved with `context`, and each event with a
        fresh `event_context()` (`bff.executor.SubscriptionExecutor`).
        """
        outcome = subscribe(
            self._schema,
            prepared.document,
            context_value=context,
            variable_values=dict(variables) if variables else None,
            operation_name=prepared.operation_name,
            executor_class=SubscriptionExecutor,
            event_context=event_context,
        )
        result = await outcome if isawaitable(outcome) else outcome
        if not isinstance(result, ExecutionResult):
            # graphql-core maps the source stream with an async generator.
            return cast(AsyncGenerator[ExecutionResult], result)
        if result.errors and all(error.path is None for error in result.errors):
            # No field ran: the variables could not be coerced to their types.
            raise RequestFailure(400, "BAD_USER_INPUT", _redacted(result.errors, prepared))
        return result


def _redacted(errors: Sequence[GraphQLError], prepared: Prepared) -> list[GraphQLError]:
    """Variable errors without the values of personal-data variables (they echo them)."""
    redacted = []
    for error in errors:
        named = next(
            (name for name in prepared.personal_variables if f"'${name}'" in error.message), None
        )
        if named is not None:
            error = GraphQLError(
                f"Variable '${named}' got an invalid value (not shown: personal data).",
                error.nodes,
            )
        redacted.append(error)
    return redacted
