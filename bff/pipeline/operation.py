"""One operation, whatever carries it: admit, build the context, execute or subscribe, shape.

`Pipeline.execute` and `Pipeline.subscribe` run the steps every transport
shares and return an outcome; the transports (`bff.http.endpoint`,
`bff.ws.subscriptions`) only map outcomes to statuses, headers, messages or
close codes. A request that cannot run is a `Refused` outcome carrying its
`Refusal` (its code and errors): what status that is, is the edge's decision.
Reporting (span, log line, metrics, usage) is `bff.pipeline.observation`'s.
"""

from __future__ import annotations

import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Mapping,
    Sequence,
)
from dataclasses import dataclass

import orjson
from graphql import ExecutionResult, GraphQLError
from opentelemetry.trace import StatusCode, Tracer, set_span_in_context

from bff.contract.persisted import PersistedQueries
from bff.execution.cache_policy import NOT_CACHEABLE, CachePolicy
from bff.execution.errors import JsonDict, Refusal, RequestFailure, format_error
from bff.execution.incremental import Incremental, Subsequent
from bff.execution.operations import Operations, Prepared
from bff.execution.request import GraphQLRequest
from bff.execution.response_cache import ResponseCache
from bff.pipeline.admission import admit, refused
from bff.pipeline.batch import Batch
from bff.pipeline.observation import Observation, SharedObserver, Telemetry
from bff.security.rate_limit import FREE, Charge, RateLimiter
from clients.errors import ErrorCode
from resolvers.context import Caller, Context
from resolvers.experiments import Subject
from resolvers.loaders import Loaders

ContextFactory = Callable[
    [str, Caller, Observation, float | None, Subject, Loaders | None], Context
]
"""Builds the per-operation context from the request id, the caller, its observation,
its deadline (`time.monotonic()` by which it must be answered, None for none), who
it is for experiments, and the loaders it shares with a batch (None: its own)."""

LoadersFactory = Callable[[str, Caller, SharedObserver, float | None], Loaders]
"""Builds a batch's shared loaders from the request id, the caller, the observer of
the batch's operations and the batch's deadline."""

Check = Callable[[Prepared], None]
"""A transport's own rule on the admitted operation (say, GET runs queries only):
raises `RequestFailure` to refuse it."""


@dataclass(frozen=True, slots=True)
class Answered:
    """The operation ran, or its response was kept: the JSON body and its cache policy."""

    body: bytes
    policy: CachePolicy
    age: int | None = None
    """Seconds the body spent in the response cache, when it came from there."""


@dataclass(frozen=True, slots=True)
class Streamed:
    """The operation is answered in parts: the initial payload now, the rest as they come.

    Payloads are JSON objects in the deferSpec=20220824 shape
    (`bff.execution.incremental`); `rest` ends when the last is out or the
    budget ran out, and `close` stops what still runs when the client goes away.
    """

    initial: JsonDict
    policy: CachePolicy
    rest: AsyncIterator[JsonDict]
    close: Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Subscribed:
    """The subscription started: its response stream."""

    prepared: Prepared
    stream: AsyncGenerator[ExecutionResult]


@dataclass(frozen=True, slots=True)
class Refused:
    """The operation cannot run: why, as its code and errors say."""

    refusal: Refusal


@dataclass(frozen=True, slots=True)
class Rejected:
    """The subscription's source stream could not start: its errors, formatted."""

    errors: list[JsonDict]


class Pipeline:
    """The steps of an operation that do not depend on what carries it."""

    def __init__(
        self,
        operations: Operations,
        make_context: ContextFactory,
        telemetry: Telemetry,
        *,
        rate_limiter: RateLimiter | None = None,
        persisted: PersistedQueries | None = None,
        budget_for: Callable[[str | None], float] = lambda name: 2.5,
        responses: ResponseCache | None = None,
        make_loaders: LoadersFactory | None = None,
    ) -> None:
        self.operations = operations
        self.telemetry = telemetry
        self._make_context = make_context
        self._rate_limiter = rate_limiter
        self._persisted = persisted or PersistedQueries(None)
        self._budget_for = budget_for
        self._responses = responses
        self._make_loaders = make_loaders

    def charge(self, user_id: str | None, peer: str | None, forwarded_for: str | None) -> Charge:
        """The request's charge on its caller's bucket: the address's while nobody is known."""
        if self._rate_limiter is None:
            return FREE
        return self._rate_limiter.charge(user_id=user_id, peer=peer, forwarded_for=forwarded_for)

    async def admit(
        self, request: GraphQLRequest, charge: Charge, observation: Observation, check: Check
    ) -> Prepared:
        """The operation, prepared, paid for and named; a `RequestFailure` when it cannot run."""
        try:
            prepared = await admit(request, self._persisted, self.operations, charge)
        except RequestFailure as failed:
            await refused(charge, failed)
            raise
        observation.named(prepared)
        check(prepared)
        return prepared

    def batch(
        self, operations: int, *, request_id: str, caller: Caller, arrived: float, max_cost: int
    ) -> Batch:
        """A batch of `operations` to run together (`bff.pipeline.batch`)."""
        make_loaders = self._make_loaders
        if make_loaders is None:
            raise RuntimeError("this pipeline serves no batches: it was given no loaders factory")

        def open_loaders(observer: SharedObserver, deadline: float | None) -> Loaders:
            return make_loaders(request_id, caller, observer, deadline)

        return Batch(
            operations,
            max_cost=max_cost,
            arrived=arrived,
            budget_for=self._budget_for,
            open_loaders=open_loaders,
        )

    async def _admitted(
        self,
        request: GraphQLRequest,
        charge: Charge,
        observation: Observation,
        check: Check,
        batch: Batch | None,
    ) -> tuple[Prepared, Loaders | None]:
        """The prepared operation, and the loaders its batch shares (None out of a batch)."""
        if batch is None:
            return await self.admit(request, charge, observation, check), None
        batch.observer.join(observation)
        try:
            prepared = await self.admit(request, charge, observation, check)
        except BaseException as error:
            batch.left(error)
            raise
        return prepared, await batch.admitted(prepared)

    async def execute(
        self,
        request: GraphQLRequest,
        *,
        request_id: str,
        caller: Caller,
        charge: Charge,
        observation: Observation,
        arrived: float,
        subject_id: str | None,
        client: tuple[str, str],
        headers: Mapping[str, str],
        check: Check,
        batch: Batch | None = None,
        multipart: bool = False,
    ) -> Answered | Streamed | Refused:
        """Admit, answer from the response cache or execute, and shape the body.

        An operation of a `batch` waits, once admitted, for the batch's decision,
        and runs on the loaders the batch shares. A document with `@defer` or
        `@stream` is answered in parts (`Streamed`) when the edge may send them
        (`multipart`, never for a batch's entries), else whole; it is never kept
        in the response cache.
        """
        try:
            prepared, loaders = await self._admitted(request, charge, observation, check, batch)
            policy = prepared.policy
            cache_key = None
            responses = self._responses
            if prepared.incremental:
                return await self._incremental(
                    prepared,
                    request,
                    request_id=request_id,
                    caller=caller,
                    observation=observation,
                    arrived=arrived,
                    subject_id=subject_id,
                    client=client,
                    multipart=multipart and batch is None,
                    loaders=loaders,
                )
            if responses is not None and policy.shared and not observation.detailed:
                cache_key = responses.key(
                    prepared.sha256, prepared.operation_name, request.variables, headers
                )
                hit = responses.get(cache_key)
                if hit is not None:
                    stored, age = hit
                    observation.outcome = "ok"
                    return Answered(stored.body, policy, age)
            _, context = self._context(
                prepared, request_id, caller, observation, arrived, subject_id, client, loaders
            )
            with self.telemetry.tracer.start_as_current_span("graphql.execute"):
                result = await self.operations.execute(prepared, request.variables, context)
        except RequestFailure as failed:
            observation.error_codes.append(failed.code)
            return Refused(failed.refusal)
        observation.variants = context.experiments.served
        body, policy = _shaped(result, policy, observation, request_id)
        encoded = orjson.dumps(body)
        if cache_key is not None and policy.shared:
            assert responses is not None
            responses.put(cache_key, encoded, policy.max_age)
        return Answered(encoded, policy)

    def _context(
        self,
        prepared: Prepared,
        request_id: str,
        caller: Caller,
        observation: Observation,
        arrived: float,
        subject_id: str | None,
        client: tuple[str, str],
        loaders: Loaders | None,
    ) -> tuple[float, Context]:
        """The operation's deadline, from its budget, and its context."""
        deadline = arrived + self._budget_for(prepared.operation_name)
        subject = Subject(caller.user_id or subject_id, *client)
        return deadline, self._make_context(
            request_id, caller, observation, deadline, subject, loaders
        )

    async def _incremental(
        self,
        prepared: Prepared,
        request: GraphQLRequest,
        *,
        request_id: str,
        caller: Caller,
        observation: Observation,
        arrived: float,
        subject_id: str | None,
        client: tuple[str, str],
        multipart: bool,
        loaders: Loaders | None,
    ) -> Answered | Streamed | Refused:
        """Run a document that defers or streams: in parts, or merged into one body.

        The operation's budget covers the whole stream (`Incremental.payloads`).
        """
        try:
            deadline, context = self._context(
                prepared, request_id, caller, observation, arrived, subject_id, client, loaders
            )
            with self.telemetry.tracer.start_as_current_span("graphql.execute"):
                outcome = await self.operations.execute_incrementally(
                    prepared, request.variables, context, parts=multipart
                )
                if isinstance(outcome, Incremental) and not multipart:
                    outcome = await outcome.merged(deadline)
        except RequestFailure as failed:
            observation.error_codes.append(failed.code)
            return Refused(failed.refusal)
        observation.variants = context.experiments.served
        if isinstance(outcome, ExecutionResult):
            body, policy = _shaped(outcome, prepared.policy, observation, request_id)
            return Answered(orjson.dumps(body), policy)
        initial, policy = _shaped(outcome.initial, prepared.policy, observation, request_id)
        initial["hasNext"] = True
        parts = _Parts(self.telemetry.tracer, observation, request_id)
        if observation.detailed:
            extensions = initial["extensions"]
            assert isinstance(extensions, dict)
            extensions["debug"]["parts"] = parts.sent(())
        return Streamed(initial, policy, parts.shaped(outcome.payloads(deadline)), outcome.aclose)

    async def subscribe(
        self,
        request: GraphQLRequest,
        *,
        request_id: str,
        caller: Caller,
        charge: Charge,
        observation: Observation,
        subject_id: str | None,
        client: tuple[str, str],
        check: Check,
    ) -> Subscribed | Refused | Rejected:
        """Admit and start a subscription; each event gets a fresh context and time budget."""
        try:
            prepared = await self.admit(request, charge, observation, check)
            budget = self._budget_for(prepared.operation_name)
            subject = Subject(caller.user_id or subject_id, *client)
            make_context = self._make_context

            def event_context() -> Context:
                deadline = time.monotonic() + budget
                return make_context(request_id, caller, observation, deadline, subject, None)

            context = make_context(request_id, caller, observation, None, subject, None)
            stream = await self.operations.subscribe(
                prepared, request.variables, context, event_context
            )
        except RequestFailure as failed:
            observation.error_codes.append(failed.code)
            return Refused(failed.refusal)
        if isinstance(stream, ExecutionResult):
            return Rejected(formatted(stream.errors or (), observation, request_id))
        return Subscribed(prepared, stream)


class _Parts:
    """Shapes the payloads after the initial one, each deferred part with its own span.

    A part's span runs from when the initial payload was ready to when the part
    went out, under the operation's span; with the debug timeline on, each
    payload's `extensions.debug` tells when every part so far went out.
    """

    def __init__(self, tracer: Tracer, observation: Observation, request_id: str) -> None:
        self._tracer = tracer
        self._observation = observation
        self._request_id = request_id
        self._started = time.time_ns()
        self._sent: list[JsonDict] = []

    def sent(self, path: tuple[str | int, ...], label: str | None = None) -> list[JsonDict]:
        """Notes that the part at `path` went out now; every part so far, in order."""
        went = round((time.perf_counter() - self._observation.started) * 1000, 2)
        entry: JsonDict = {"path": list(path), "sentMs": went}
        if label is not None:
            entry["label"] = label
        self._sent.append(entry)
        return list(self._sent)

    async def shaped(self, payloads: AsyncIterator[Subsequent]) -> AsyncIterator[JsonDict]:
        observation = self._observation
        parent = set_span_in_context(observation.span)
        async for payload in payloads:
            for part in payload.parts:
                span = self._tracer.start_span(
                    "graphql.deferred", context=parent, start_time=self._started
                )
                span.set_attribute("graphql.defer.path", [str(key) for key in part.path])
                if part.label is not None:
                    span.set_attribute("graphql.defer.label", part.label)
                if part.errors:
                    span.set_status(StatusCode.ERROR)
                    if observation.outcome == "ok":
                        observation.outcome = "partial"
                span.end()
                if observation.detailed:
                    self.sent(part.path, part.label)
            body = payload.wire(self._formatted)
            if observation.detailed:
                debug = observation.debug_extension()
                debug["parts"] = list(self._sent)
                body["extensions"] = {"debug": debug}
            yield body

    def _formatted(self, errors: Sequence[GraphQLError]) -> list[JsonDict]:
        return formatted(errors, self._observation, self._request_id)


def _shaped(
    result: ExecutionResult, policy: CachePolicy, observation: Observation, request_id: str
) -> tuple[JsonDict, CachePolicy]:
    """The response body, with the policy it may be cached by, and the outcome observed."""
    body: JsonDict = {"data": result.data}
    observation.outcome = "ok"
    extensions: JsonDict = {}
    degraded = observation.degraded
    if degraded:
        # Stale data is still data, but neither fresh nor to be cached.
        policy = NOT_CACHEABLE
        observation.outcome = "degraded"
        extensions["degraded"] = degraded
    if result.errors:
        policy = NOT_CACHEABLE
        answered = result.data and any(value is not None for value in result.data.values())
        observation.outcome = "partial" if answered else "error"
        body["errors"] = formatted(result.errors, observation, request_id)
    if observation.detailed:
        extensions["debug"] = observation.debug_extension()
    if extensions:
        body["extensions"] = extensions
    return body, policy


def payload(result: ExecutionResult, observation: Observation, request_id: str) -> JsonDict:
    """One event of a subscription, as sent."""
    shaped: JsonDict = {"data": result.data}
    if result.errors:
        shaped["errors"] = formatted(result.errors, observation, request_id)
    return shaped


def formatted(
    errors: Sequence[GraphQLError],
    observation: Observation,
    request_id: str,
) -> list[JsonDict]:
    """Errors raised while fields ran, as sent; their codes are observed."""
    shaped = [
        format_error(error, default_code=ErrorCode.INTERNAL_SERVER_ERROR, request_id=request_id)
        for error in errors
    ]
    observation.error_codes += [_code(error) for error in shaped]
    return shaped


def _code(error: JsonDict) -> str:
    extensions = error.get("extensions")
    code = extensions.get("code") if isinstance(extensions, dict) else None
    return str(code) if code else "UNKNOWN"
