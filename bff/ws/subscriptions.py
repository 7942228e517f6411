"""Running one GraphQL subscription for a WebSocket session (`bff.ws.sessions`).

A subscription is served as an HTTP operation would be, up to its first
event: the document goes through `Operations.prepare` (document cache,
operation limits, introspection switch), the rate limit charges its cost,
and the field's own resolver authorizes the caller. Anything that keeps it
from starting is one `error` message with coded GraphQL errors. Then every
event is a `next`, and the end of the stream a `complete`; a failure after
the first event is a last `next` carrying the error, then `complete`.

A subscription takes a place under three caps before anything else: its
socket's (`max_per_connection`), its address's and, for a signed-in caller,
its user's, the last two over all the process's sockets (`bff.ws.quotas`); over
one, it is refused with `SUBSCRIPTION_LIMIT_EXCEEDED`, `extensions.limit`
saying which. It keeps its place until it ends.

The source stream has no time budget: it lasts as long as what it follows.
Each event's fields are resolved with a fresh context, with its own loaders
and the operation's time budget (`bff.execution.executor.SubscriptionExecutor`).

Only subscriptions run here. Queries and mutations are refused: they belong
on HTTP, where responses are cached and load is shed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Literal

from graphql import ExecutionResult, FieldNode, GraphQLError, OperationType
from opentelemetry.context import attach, detach
from opentelemetry.trace import Span, SpanKind, StatusCode, format_trace_id

from bff.contract.persisted import PersistedQueries
from bff.execution.errors import JsonDict, RequestFailure, format_error
from bff.execution.operations import Operations, Prepared
from bff.execution.request import GraphQLRequest, failure
from bff.observability.metrics import Metrics
from bff.observability.tracing import PROPAGATOR
from bff.pipeline.admission import admit, refused
from bff.pipeline.observation import Observation, Telemetry
from bff.security.auth import Authenticator
from bff.security.rate_limit import FREE, RateLimiter
from bff.ws.quotas import Hold, Quota
from resolvers.context import Caller, Context
from resolvers.experiments import Subject

logger = logging.getLogger("bff.subscription")

StreamContextFactory = Callable[[str, Caller, Observation, float | None, Subject], Context]
"""Builds a context from the request id, the caller, the observation, the
deadline (`time.monotonic()`, None for no time budget) and who it is for
experiments."""

Reply = Literal["next", "error", "complete"]
Emit = Callable[[Reply, object], Awaitable[None]]
"""Sends one reply of the subscription to its socket."""

Outcome = Literal["completed", "cancelled", "closed", "refused", "failed"]
"""How a subscription ended: its stream ran out; the client stopped it; its socket
closed; it never started; it failed after starting."""


@dataclass(frozen=True, slots=True)
class Connection:
    """What a socket's upgrade request says about its peer."""

    request_id: str
    client: tuple[str, str] = ("unknown", "unknown")
    client_id: str | None = None
    """An anonymous caller's stable id (`X-Client-Id`), for experiments."""
    peer: str | None = None
    forwarded_for: str | None = None
    address: str = "unknown"
    """The client's address: the peer, or what trusted proxies say it is."""
    trace_headers: Mapping[str, str] = field(default_factory=dict)
    """`traceparent`, `tracestate` and `baggage`, continued by each subscription."""


class Subscriptions:
    """Starts subscriptions and follows them to their end; shared by every socket."""

    def __init__(
        self,
        operations: Operations,
        make_context: StreamContextFactory,
        authenticator: Authenticator,
        telemetry: Telemetry,
        *,
        max_per_connection: int,
        max_per_user: int,
        max_per_address: int,
        budget_for: Callable[[str | None], float],
        rate_limiter: RateLimiter | None = None,
        persisted: PersistedQueries | None = None,
    ) -> None:
        self._operations = operations
        self._persisted = persisted or PersistedQueries(None)
        self._make_context = make_context
        self.authenticator = authenticator
        self._telemetry = telemetry
        self._max_per_connection = max_per_connection
        self._quota = Quota(per_user=max_per_user, per_address=max_per_address)
        self._budget_for = budget_for
        self._rate_limiter = rate_limiter

    async def run(
        self,
        request: GraphQLRequest,
        caller: Caller,
        connection: Connection,
        request_id: str,
        *,
        running: int,
        emit: Emit,
        stopped: Callable[[], bool],
    ) -> None:
        """Serve one subscription until it ends; `running` counts it among its socket's."""
        metrics = self._telemetry.metrics
        metrics.subscriptions_active.inc()
        hold = Hold()
        token = attach(PROPAGATOR.extract(dict(connection.trace_headers)))
        tracer = self._telemetry.tracer
        try:
            with tracer.start_as_current_span("graphql", kind=SpanKind.SERVER) as span:
                observation = Observation(tracer, metrics, span, detailed=False)
                run = _Run(request, caller, connection, request_id, running, observation, hold)
                try:
                    run.outcome = await self._serve(run, emit)
                except asyncio.CancelledError:
                    run.outcome = "cancelled" if stopped() else "closed"
                    raise
                finally:
                    run.report(span, metrics)
        finally:
            hold.release()
            detach(token)
            metrics.subscriptions_active.dec()

    async def _serve(self, run: _Run, emit: Emit) -> Outcome:
        try:
            prepared, stream = await self._start(run)
        except RequestFailure as failed:
            run.error_codes.append(failed.code)
            await emit("error", list(failed.refusal.errors))
            return "refused"
        except Exception as error:  # a bug: logged, and masked as HTTP would mask it
            await emit("error", run.errors([GraphQLError(str(error), original_error=error)]))
            return "failed"
        if isinstance(stream, ExecutionResult):
            await emit("error", run.errors(stream.errors or ()))
            return "refused"
        try:
            async with aclosing(stream):
                async for result in stream:
                    run.events += 1
                    await emit("next", run.payload(result))
        except Exception as error:
            broken = GraphQLError(str(error), path=_root_path(prepared), original_error=error)
            await emit("next", {"data": None, "errors": run.errors([broken])})
            await emit("complete", None)
            return "failed"
        await emit("complete", None)
        return "completed"

    async def _start(
        self, run: _Run
    ) -> tuple[Prepared, AsyncGenerator[ExecutionResult] | ExecutionResult]:
        request, caller, connection = run.request, run.caller, run.connection
        if run.running > self._max_per_connection:
            raise self._over(
                "connection",
                self._max_per_connection,
                f"At most {self._max_per_connection} subscriptions may run at once on one "
                "connection: complete one first, or open another connection.",
            )
        full = self._quota.take(run.hold, address=connection.address, user_id=caller.user_id)
        if full is not None:
            maximum = self._quota.maximum(full)
            whose = "for one user" if full == "user" else "from one address"
            raise self._over(
                full,
                maximum,
                f"At most {maximum} subscriptions may run at once {whose}: complete one first.",
            )
        charge = (
            self._rate_limiter.charge(
                user_id=caller.user_id, peer=connection.peer, forwarded_for=connection.forwarded_for
            )
            if self._rate_limiter is not None
            else FREE
        )
        try:
            prepared = await admit(request, self._persisted, self._operations, charge)
        except RequestFailure as failed:
            await refused(charge, failed)
            raise
        run.observation.named(prepared)
        if prepared.operation_type != OperationType.SUBSCRIPTION:
            raise failure(
                400,
                "BAD_REQUEST",
                "Only subscriptions run over this WebSocket; send queries and mutations "
                "by HTTP (POST /graphql).",
            )
        budget = self._budget_for(prepared.operation_name)
        request_id, observation = run.request_id, run.observation
        subject = Subject(caller.user_id or connection.client_id, *connection.client)

        def event_context() -> Context:
            deadline = time.monotonic() + budget
            return self._make_context(request_id, caller, observation, deadline, subject)

        context = self._make_context(request_id, caller, observation, None, subject)
        stream = await self._operations.subscribe(
            prepared, request.variables, context, event_context
        )
        return prepared, stream

    def _over(self, per: str, maximum: int, message: str) -> RequestFailure:
        """A subscription over a cap; `per` names the cap (connection, user, address)."""
        limit = f"subscriptions_per_{per}"
        self._telemetry.metrics.websocket_refusals.labels(limit).inc()
        error = GraphQLError(message, extensions={"limit": limit, "maximum": maximum})
        return RequestFailure(400, "SUBSCRIPTION_LIMIT_EXCEEDED", [error])


@dataclass
class _Run:
    """One subscription: what was asked, and what it did, for its span, metrics and log."""

    request: GraphQLRequest
    caller: Caller
    connection: Connection
    request_id: str
    running: int
    """Subscriptions running on its socket, itself included."""
    observation: Observation
    hold: Hold
    """Its place under the per-user and per-address caps, once taken."""
    outcome: Outcome = "refused"
    events: int = 0
    error_codes: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def payload(self, result: ExecutionResult) -> JsonDict:
        payload: JsonDict = {"data": result.data}
        if result.errors:
            payload["errors"] = self.errors(result.errors)
        return payload

    def errors(self, errors: list[GraphQLError] | tuple[GraphQLError, ...]) -> list[JsonDict]:
        formatted = [
            format_error(error, default_code="INTERNAL_SERVER_ERROR", request_id=self.request_id)
            for error in errors
        ]
        for error in formatted:
            extensions = error.get("extensions")
            if isinstance(extensions, dict):
                self.error_codes.append(str(extensions.get("code")))
        return formatted

    def report(self, span: Span, metrics: Metrics) -> None:
        seconds = time.perf_counter() - self.started
        if self.outcome in ("refused", "failed"):
            span.set_status(StatusCode.ERROR)
        if self.error_codes:
            span.set_attribute("graphql.error.codes", sorted(set(self.error_codes)))
        metrics.subscriptions.labels(self.outcome).inc()
        context = span.get_span_context()
        observation = self.observation
        logger.info(
            "subscription %s %s",
            observation.operation_name or "-",
            self.outcome,
            extra={
                "fields": {
                    "request_id": self.request_id,
                    "trace_id": format_trace_id(context.trace_id) if context.is_valid else None,
                    "operation_name": observation.operation_name,
                    "operation_type": observation.operation_type,
                    "client_name": self.connection.client[0],
                    "client_version": self.connection.client[1],
                    "duration_ms": round(seconds * 1000, 2),
                    "events": self.events,
                    "downstream_calls": observation.network_calls,
                    "outcome": self.outcome,
                    "error_codes": sorted(set(self.error_codes)),
                }
            },
        )


def _root_path(prepared: Prepared) -> list[str | int] | None:
    """The path of the subscription's field, for an error that ended its stream."""
    first = prepared.operation.selection_set.selections[0]
    if not isinstance(first, FieldNode):
        return None
    return [(first.alias or first.name).value]
