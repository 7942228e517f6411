"""Running one GraphQL subscription for a WebSocket session (`bff.ws.sessions`).

A subscription goes through the same operation pipeline as an HTTP request
(`bff.pipeline.operation`), up to its first event: it is admitted (document
cache, operation limits, introspection switch, rate-limit charge) and
started, and the field's own resolver authorizes the caller; this module
maps the pipeline's outcomes to messages. Anything that keeps it
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
from collections.abc import Awaitable, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Literal

from graphql import FieldNode, GraphQLError, OperationType

from bff.execution.errors import RequestFailure
from bff.execution.operations import Prepared
from bff.execution.request import GraphQLRequest, failure
from bff.pipeline.observation import Observation
from bff.pipeline.operation import (
    Pipeline,
    Refused,
    Rejected,
    Subscribed,
    formatted,
    payload,
)
from bff.security.auth import Authenticator
from bff.ws.quotas import Hold, Quota
from clients.errors import ErrorCode
from resolvers.context import Caller

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
        pipeline: Pipeline,
        authenticator: Authenticator,
        *,
        max_per_connection: int,
        max_per_user: int,
        max_per_address: int,
    ) -> None:
        self._pipeline = pipeline
        self.authenticator = authenticator
        self._telemetry = pipeline.telemetry
        self._max_per_connection = max_per_connection
        self._quota = Quota(per_user=max_per_user, per_address=max_per_address)

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
        hold = Hold()
        try:
            with self._telemetry.subscription(
                request_id=request_id,
                client=connection.client,
                trace_headers=connection.trace_headers,
            ) as observation:
                run = _Run(request, caller, connection, request_id, running, observation, hold)
                try:
                    observation.outcome = await self._serve(run, emit)
                except asyncio.CancelledError:
                    observation.outcome = "cancelled" if stopped() else "closed"
                    raise
        finally:
            hold.release()

    async def _serve(self, run: _Run, emit: Emit) -> Outcome:
        observation = run.observation
        try:
            started = await self._start(run)
        except RequestFailure as failed:  # over a cap, before the pipeline
            observation.error_codes.append(failed.code)
            await emit("error", list(failed.refusal.errors))
            return "refused"
        except Exception as error:  # a bug: logged, and masked as HTTP would mask it
            failed_error = GraphQLError(str(error), original_error=error)
            await emit("error", formatted([failed_error], observation, run.request_id))
            return "failed"
        if isinstance(started, Refused):
            await emit("error", list(started.refusal.errors))
            return "refused"
        if isinstance(started, Rejected):
            await emit("error", started.errors)
            return "refused"
        try:
            async with aclosing(started.stream):
                async for result in started.stream:
                    observation.events += 1
                    await emit("next", payload(result, observation, run.request_id))
        except Exception as error:
            broken = GraphQLError(
                str(error), path=_root_path(started.prepared), original_error=error
            )
            errors = formatted([broken], observation, run.request_id)
            await emit("next", {"data": None, "errors": errors})
            await emit("complete", None)
            return "failed"
        await emit("complete", None)
        return "completed"

    async def _start(self, run: _Run) -> Subscribed | Refused | Rejected:
        caller, connection = run.caller, run.connection
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
        return await self._pipeline.subscribe(
            run.request,
            request_id=run.request_id,
            caller=caller,
            charge=self._pipeline.charge(caller.user_id, connection.peer, connection.forwarded_for),
            observation=run.observation,
            subject_id=connection.client_id,
            client=connection.client,
            check=_subscriptions_only,
        )

    def _over(self, per: str, maximum: int, message: str) -> RequestFailure:
        """A subscription over a cap; `per` names the cap (connection, user, address)."""
        limit = f"subscriptions_per_{per}"
        self._telemetry.metrics.websocket_refusals.labels(limit).inc()
        error = GraphQLError(message, extensions={"limit": limit, "maximum": maximum})
        return RequestFailure(400, ErrorCode.SUBSCRIPTION_LIMIT_EXCEEDED, [error])


@dataclass(frozen=True, slots=True)
class _Run:
    """One subscription: what was asked, and where it reports."""

    request: GraphQLRequest
    caller: Caller
    connection: Connection
    request_id: str
    running: int
    """Subscriptions running on its socket, itself included."""
    observation: Observation
    hold: Hold
    """Its place under the per-user and per-address caps, once taken."""


def _subscriptions_only(prepared: Prepared) -> None:
    """Queries and mutations belong on HTTP, where responses are cached and load is shed."""
    if prepared.operation_type != OperationType.SUBSCRIPTION:
        raise failure(
            400,
            ErrorCode.BAD_REQUEST,
            "Only subscriptions run over this WebSocket; send queries and mutations "
            "by HTTP (POST /graphql).",
        )


def _root_path(prepared: Prepared) -> list[str | int] | None:
    """The path of the subscription's field, for an error that ended its stream."""
    first = prepared.operation.selection_set.selections[0]
    if not isinstance(first, FieldNode):
        return None
    return [(first.alias or first.name).value]
