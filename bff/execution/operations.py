"""Preparing and executing GraphQL operations.

`prepare` parses, measures and validates a document once and keeps the outcome;
`execute` runs queries on the planned executor (`bff.execution.executor`), and
on graphql-core's executor what it cannot run (see docs/execution.md).
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from inspect import isawaitable
from typing import cast

import strawberry
from cachetools import LRUCache
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
    get_variable_values,
    subscribe,
)
from graphql.execution import (
    ExperimentalIncrementalExecutionResults,
    experimental_execute_incrementally,
)
from graphql.execution.values import VariableValues
from opentelemetry.trace import NoOpTracer, Tracer

from bff.config.settings import Settings
from bff.execution.analysis import analyse
from bff.execution.cache_policy import CachePolicies, CachePolicy
from bff.execution.deprecation import deprecated_coordinates
from bff.execution.documents import Validator, fragments_of, parse_document, sha256_of
from bff.execution.errors import Refusal, RequestFailure
from bff.execution.executor import PathTrackingExecutor, PlannedExecution, SubscriptionExecutor
from bff.execution.incremental import Incremental, from_graphql_core
from bff.execution.incremental_plan import execute_incrementally as execute_planned_incrementally
from bff.execution.limits import FragmentCycle, LimitExceeded, Limits, measure
from bff.execution.plan import ObjectPlan, build_plan
from bff.observability.tracing import document_signature
from bff.security.privacy import personal_data
from clients.errors import ErrorCode
from resolvers.context import Context

BYTES_PER_CHARACTER = 400
"""A prepared document's estimated memory per character of its text (measured:
150 to 400 for the reference operations and the introspection query)."""
BYTES_PER_PLANNED_FIELD = 600
"""An execution plan's estimated memory per field it plans."""
MAX_PENDING = 64
DEFAULTS = Settings()
"""The declared settings (`bff.config.settings`), for what `Operations` defaults to."""
"""New documents being prepared at once; more are refused (SERVICE_OVERLOADED)."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """A parsed, validated document, the operation in it to run, and its cache policy.

    `plannable` is False for what only graphql-core runs (mutations,
    introspection); `conditions` are the variables that decide an `@skip` or
    `@include`, by whose values execution plans are made and kept.
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
    """The estimated cost (`bff.execution.limits`), what rate limits charge."""
    personal_variables: frozenset[str]
    """Variables feeding `@personalData` arguments: errors never echo their values."""
    coordinates: tuple[str, ...] = ()
    """The schema coordinates the operation uses (`bff.execution.coordinates`), for usage."""
    deprecated: Mapping[str, str] = field(default_factory=dict)
    """Deprecated coordinates the operation uses, and why (`bff.execution.deprecation`)."""
    size: int = 0
    """Estimated bytes it holds, its weight in the cache."""
    incremental: bool = False
    """It reaches a `@defer` or `@stream`: `Operations.execute_incrementally` runs it."""

    @property
    def operation_type(self) -> OperationType:
        return self.operation.operation

    @property
    def operation_name(self) -> str | None:
        return self.operation.name.value if self.operation.name else None


Outcome = Prepared | Refusal
_Key = tuple[str, str | None]
_PlanKey = tuple[str, str | None, tuple[object, ...], bool]
"""A plan's: the document, the operation, its conditions' values, and whether it is incremental."""


@dataclass(frozen=True, slots=True)
class _Kept:
    """An outcome in the cache, with its estimated bytes (its key's text included)."""

    outcome: Outcome
    size: int


class Operations:
    """Runs operations against one schema."""

    def __init__(
        self,
        schema: strawberry.Schema,
        *,
        cache_bytes: int = DEFAULTS.document_cache_bytes,
        planned: bool = True,
        tracer: Tracer | None = None,
        resolver_spans: bool = False,
        limits: Limits | None = None,
        max_tokens: int = DEFAULTS.limits.max_tokens,
        validation_work: int = DEFAULTS.limits.max_validation_work,
        introspection: bool = True,
    ) -> None:
        # Strawberry keeps the graphql-core schema it builds in `_schema`; the
        # pinned version range keeps this private attribute stable.
        self._strawberry = schema
        self._schema = schema._schema
        self._planned = planned
        self._tracer = tracer or NoOpTracer()
        self._resolver_tracer = tracer if resolver_spans else None
        self._limits = limits or Limits()
        self._max_tokens = max_tokens
        self._validator = Validator(self._schema, introspection=introspection, work=validation_work)
        self._policies = CachePolicies(self._schema)
        self._deprecations = deprecated_coordinates(self._schema)
        self._personal = frozenset(personal_data(self._schema))
        self._outcomes: LRUCache[_Key, _Kept] | None = None
        self._plans: LRUCache[_PlanKey, ObjectPlan] | None = None
        if cache_bytes > 0:
            self._outcomes = LRUCache(cache_bytes, getsizeof=lambda kept: kept.size)
            # Plans are rebuilt from the prepared document: a quarter of the budget is theirs.
            self._plans = LRUCache(cache_bytes // 4, getsizeof=_plan_weight)
        self._pending: dict[_Key, asyncio.Future[Outcome]] = {}
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bff-prepare")
        self.hits = 0
        self.misses = 0
        self.planned_incremental = 0
        """Operations answered in parts by the planned executor (the rest: graphql-core)."""

    def close(self) -> None:
        """Stop the preparation thread; preparations not started are dropped."""
        self._worker.shutdown(wait=False, cancel_futures=True)

    def known(self, query: str, operation_name: str | None) -> Outcome | None:
        """What preparing this document came to, when it is still kept."""
        kept = self._outcomes.get((query, operation_name)) if self._outcomes is not None else None
        return kept.outcome if kept is not None else None

    async def prepare(self, query: str, operation_name: str | None) -> Prepared:
        """The operation to run; after the first time, one dictionary lookup."""
        key = (query, operation_name)
        outcome = self.known(query, operation_name)
        if outcome is None:
            self.misses += 1
            outcome = await self._prepare_once(key)
        else:
            self.hits += 1
        if isinstance(outcome, Refusal):
            raise RequestFailure.again(outcome)
        return outcome

    async def _prepare_once(self, key: _Key) -> Outcome:
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        if len(self._pending) >= MAX_PENDING:
            raise RequestFailure(
                503,
                ErrorCode.SERVICE_OVERLOADED,
                [GraphQLError("The server is preparing too many new documents: retry soon.")],
                {"retry-after": "1"},
            )
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        future = loop.run_in_executor(self._worker, context.run, self._outcome, *key)
        self._pending[key] = future
        future.add_done_callback(lambda done: self._settle(key, done))
        # Shielded: a caller that gives up leaves the preparation to those still waiting.
        return await asyncio.shield(future)

    def _settle(self, key: _Key, done: asyncio.Future[Outcome]) -> None:
        del self._pending[key]
        if self._outcomes is None or done.cancelled() or done.exception() is not None:
            return
        outcome = done.result()
        text = len(key[0]) + len(key[1] or "")
        if isinstance(outcome, Prepared):
            size = outcome.size
        else:
            size = text + 256 + sum(len(str(error.get("message"))) for error in outcome.errors)
        self._outcomes[key] = _Kept(outcome, size)

    def _outcome(self, query: str, operation_name: str | None) -> Outcome:
        # A syntax tree is tens of thousands of young objects: collections while it is
        # built would scan it again and again, holding the interpreter from the event
        # loop. Trees hold no cycles, so what is not kept is freed without a collection.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._prepare(query, operation_name)
        except RequestFailure as refused:
            return refused.refusal
        finally:
            if collecting:
                gc.enable()

    def _prepare(self, query: str, operation_name: str | None) -> Prepared:
        with self._tracer.start_as_current_span("graphql.parse"):
            document = parse_document(query, self._max_tokens)
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            message = (
                f"Unknown operation named {operation_name!r}."
                if operation_name
                else "The document holds several operations: name one in `operationName`."
            )
            raise RequestFailure(
                400, ErrorCode.OPERATION_RESOLUTION_FAILURE, [GraphQLError(message)]
            )
        fragments = fragments_of(document)
        try:
            measures = measure(self._schema, fragments, operation, self._limits)
        except LimitExceeded as exceeded:
            raise RequestFailure(
                400, ErrorCode.OPERATION_LIMIT_EXCEEDED, [exceeded.error]
            ) from None
        except FragmentCycle as cycle:
            raise RequestFailure(400, ErrorCode.GRAPHQL_VALIDATION_FAILED, [cycle.error]) from None
        with self._tracer.start_as_current_span("graphql.validate"):
            self._validator.validate(document)
        analysis = analyse(
            self._schema,
            document,
            operation,
            policies=self._policies,
            personal=self._personal,
            deprecations=self._deprecations,
        )
        return Prepared(
            document=document,
            operation=operation,
            sha256=sha256_of(query),
            policy=analysis.policy,
            plannable=analysis.plannable,
            incremental=analysis.incremental,
            conditions=analysis.conditions,
            signature=document_signature(document),
            cost=measures.cost,
            personal_variables=analysis.personal_variables,
            coordinates=analysis.coordinates,
            deprecated=analysis.deprecated,
            size=(len(query) + len(operation_name or "")) * BYTES_PER_CHARACTER,
        )

    def document_cache_counts(self) -> tuple[int, int]:
        """Hits and misses of the document cache so far."""
        return self.hits, self.misses

    def cache_bytes(self) -> int:
        """Estimated bytes of the prepared documents and refusals kept."""
        return int(self._outcomes.currsize) if self._outcomes is not None else 0

    def plan_cache_bytes(self) -> int:
        """Estimated bytes of the execution plans kept."""
        return int(self._plans.currsize) if self._plans is not None else 0

    async def execute(
        self, prepared: Prepared, variables: Mapping[str, object] | None, context: Context
    ) -> ExecutionResult:
        _refuse_subscription(prepared)
        if self._planned and prepared.plannable:
            return await self._execute_planned(prepared, variables, context)
        completed = await self._graphql_core(prepared, variables, context)
        if isinstance(completed, ExperimentalIncrementalExecutionResults):
            # Not reached: a document with `@defer` or `@stream` is incremental.
            completed = await from_graphql_core(completed).merged(None)
        _refuse_uncoerced(completed, prepared)
        return completed

    async def execute_incrementally(
        self,
        prepared: Prepared,
        variables: Mapping[str, object] | None,
        context: Context,
        *,
        parts: bool = True,
    ) -> Incremental | ExecutionResult:
        """Run a document that may defer or stream parts: in parts, or whole when none was.

        The answer in parts is an `Incremental` (`bff.execution.incremental`,
        whose docstring is the contract an executor meets): its initial result,
        then the later payloads in the deferSpec=20220824 shape. A document whose
        `@defer(if:)` and `@stream(if:)` all came to false is answered whole.
        The planned executor runs what it can (`bff.execution.incremental_plan`);
        graphql-core's `experimental_execute_incrementally` the rest. Without
        `parts` (a client that reads one body), the planned executor answers
        deferred fragments inline; graphql-core's parts are for the caller to merge.
        """
        _refuse_subscription(prepared)
        if self._planned and prepared.plannable:
            if not parts:
                return await self._execute_planned(prepared, variables, context)
            coerced, plan = self._plan(prepared, variables, incremental=True)
            self.planned_incremental += 1
            return await execute_planned_incrementally(
                self._strawberry,
                prepared.operation,
                plan,
                coerced,
                context,
                tracer=self._resolver_tracer,
            )
        result = await self._graphql_core(prepared, variables, context)
        if isinstance(result, ExperimentalIncrementalExecutionResults):
            return from_graphql_core(result)
        _refuse_uncoerced(result, prepared)
        return result

    async def _graphql_core(
        self, prepared: Prepared, variables: Mapping[str, object] | None, context: Context
    ) -> ExecutionResult | ExperimentalIncrementalExecutionResults:
        """graphql-core's executor over `prepared`.

        Its `execute` refuses a schema holding `@defer` and `@stream`: its
        incremental entry point runs the same, and answers a document without
        them whole.
        """
        outcome = experimental_execute_incrementally(
            self._schema,
            prepared.document,
            context_value=context,
            variable_values=dict(variables) if variables else None,
            operation_name=prepared.operation_name,
            executor_class=PathTrackingExecutor,
            hide_suggestions=not self._validator.suggestions,
        )
        return await outcome if isawaitable(outcome) else outcome

    def _plan(
        self,
        prepared: Prepared,
        variables: Mapping[str, object] | None,
        *,
        incremental: bool = False,
    ) -> tuple[VariableValues, ObjectPlan]:
        """The variables coerced, and the plan for their conditions' values (kept)."""
        coerced = get_variable_values(
            self._schema,
            prepared.operation.variable_definitions or (),
            dict(variables or {}),
            hide_suggestions=not self._validator.suggestions,
        )
        if isinstance(coerced, list):
            raise RequestFailure(400, ErrorCode.BAD_USER_INPUT, _redacted(coerced, prepared))
        key = (
            prepared.sha256,
            prepared.operation_name,
            tuple(coerced.coerced.get(name) for name in prepared.conditions),
            incremental,
        )
        plan = self._plans.get(key) if self._plans is not None else None
        if plan is None:
            plan = build_plan(
                self._schema,
                prepared.document,
                prepared.operation,
                coerced.coerced,
                incremental=incremental,
            )
            if self._plans is not None:
                self._plans[key] = plan
        return coerced, plan

    async def _execute_planned(
        self, prepared: Prepared, variables: Mapping[str, object] | None, context: Context
    ) -> ExecutionResult:
        coerced, plan = self._plan(prepared, variables)
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
        fresh `event_context()` (`bff.execution.executor.SubscriptionExecutor`).
        """
        outcome = subscribe(
            self._schema,
            prepared.document,
            context_value=context,
            variable_values=dict(variables) if variables else None,
            operation_name=prepared.operation_name,
            executor_class=SubscriptionExecutor,
            event_context=event_context,
            hide_suggestions=not self._validator.suggestions,
        )
        result = await outcome if isawaitable(outcome) else outcome
        if not isinstance(result, ExecutionResult):
            # graphql-core maps the source stream with an async generator.
            return cast(AsyncGenerator[ExecutionResult], result)
        _refuse_uncoerced(result, prepared)
        return result


def _plan_weight(plan: ObjectPlan) -> int:
    """Its estimated bytes: its fields, those of its deferred fragments' sub-plans included."""
    fields = 0
    stack = [plan]
    while stack:
        level = stack.pop()
        stack.extend(deferred.plan for deferred in level.deferred)
        for planned in level.fields:
            fields += 1
            if planned.child is not None:
                stack.append(planned.child)
    return fields * BYTES_PER_PLANNED_FIELD


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


def _refuse_subscription(prepared: Prepared) -> None:
    """Subscriptions run over a WebSocket (`bff.ws`), never through `execute`."""
    if prepared.operation_type == OperationType.SUBSCRIPTION:
        message = "Subscriptions are served over a WebSocket (graphql-transport-ws), not HTTP."
        raise RequestFailure(400, ErrorCode.BAD_REQUEST, [GraphQLError(message)])


def _refuse_uncoerced(result: ExecutionResult, prepared: Prepared) -> None:
    """No field ran, only errors without a path: the variables did not fit their types."""
    errors = result.errors
    if result.data is None and errors and all(error.path is None for error in errors):
        raise RequestFailure(400, ErrorCode.BAD_USER_INPUT, _redacted(errors, prepared))
