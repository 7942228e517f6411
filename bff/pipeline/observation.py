"""One operation's telemetry: its span, metrics, log line and debug timeline.

`Telemetry.operation()`, or `Telemetry.subscription()`, opens the operation
span (named `query ProductPage` once the document is known) and yields an
`Observation`, which the request's
clients and loaders report to (`clients.recording.Recorder`,
`resolvers.loaders.LoaderObserver`). When the operation ends, the metrics and
the one structured log line are written from it. The log line holds names,
codes and counts only: never variable values, tokens or response data.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar

from opentelemetry.context import attach, detach
from opentelemetry.trace import (
    Span,
    SpanKind,
    StatusCode,
    Tracer,
    format_span_id,
    format_trace_id,
    use_span,
)

from bff.execution.operations import Prepared
from bff.observability.metrics import Metrics
from bff.observability.tracing import CURRENT_BATCH, PROPAGATOR, LoaderBatch
from bff.product.analytics.events import OperationEvent
from bff.product.analytics.pipeline import UsagePipeline
from clients.errors import ErrorCode
from clients.recording import Exchange
from resolvers.paths import paths_for

logger = logging.getLogger("bff.operation")
subscription_logger = logging.getLogger("bff.subscription")

N_PLUS_ONE = 5
"""Single-item calls to one endpoint in one operation that earn a warning."""


class Observation:
    """What one operation did; a `Recorder` and a `LoaderObserver`."""

    def __init__(
        self,
        tracer: Tracer,
        metrics: Metrics,
        span: Span,
        *,
        detailed: bool,
        started: float | None = None,
    ) -> None:
        self.started = time.perf_counter() if started is None else started
        self.span = span
        self.detailed = detailed
        self.network_calls = 0
        self.operation_name: str | None = None
        self.operation_type: str | None = None
        self.prepared: Prepared | None = None
        self.variants: Mapping[str, str] = {}
        """Experiment variants the operation was served."""
        self.outcome = "error"
        """ok, degraded, partial or error; a subscription's: completed, cancelled, closed,
        refused or failed."""
        self.events = 0
        """Events a subscription sent."""
        self.error_codes: list[str] = []
        self.deprecated: Mapping[str, str] = {}
        """Deprecated coordinates the operation uses, with their reasons."""
        self._tracer = tracer
        self._metrics = metrics
        self._exchanges: list[Exchange] = []
        self._degraded: dict[tuple[tuple[str | int, ...], str], dict[str, object]] = {}
        self._memo_hits: Counter[str] = Counter()
        self._cached_batches: list[str] = []
        self.batch_size: int | None = None
        """How many operations the batched request that carried this one held; None: not batched."""
        self._finish: Callable[[], None] | None = None
        self._kept_open = False

    def batched(self, size: int, index: int) -> None:
        """The operation is entry `index` of a batch of `size`."""
        self.batch_size = size
        self.span.set_attribute("bff.batch.size", size)
        self.span.set_attribute("bff.batch.index", index)

    def keep_open(self) -> Callable[[], None]:
        """The operation outlives its request handler (its parts are still being sent):
        it is reported when the returned callable is called, once, not before."""
        self._kept_open = True
        return self._finished

    def _finished(self) -> None:
        finish, self._finish = self._finish, None
        if finish is not None:
            finish()

    def named(self, prepared: Prepared) -> None:
        """The document is known: name the span as the GraphQL conventions say."""
        self.prepared = prepared
        self.operation_type = prepared.operation_type.value
        self.operation_name = prepared.operation_name
        self.deprecated = prepared.deprecated
        self.span.update_name(f"{self.operation_type} {self.operation_name or ''}".strip())
        self.span.set_attribute("graphql.operation.type", self.operation_type)
        if self.operation_name:
            self.span.set_attribute("graphql.operation.name", self.operation_name)
        if self.span.is_recording():
            self.span.set_attribute("graphql.document", prepared.signature)

    def record(self, exchange: Exchange) -> None:
        if exchange.source == "network":
            self.network_calls += 1
        elif exchange.source == "stale":
            self._stale(exchange)
        if self.detailed:
            self._exchanges.append(exchange)

    def _stale(self, exchange: Exchange) -> None:
        """Stale data was served: count it, and say which fields carry it."""
        reason = exchange.error or ErrorCode.DOWNSTREAM_ERROR
        self._metrics.stale_served.labels(exchange.service, reason).inc()
        self.stale_read(exchange)

    def stale_read(self, exchange: Exchange) -> None:
        """The operation may have read the stale data `exchange` served: which fields, and why."""
        reason = exchange.error or ErrorCode.DOWNSTREAM_ERROR
        for path in paths_for(exchange.ids):
            self._degraded.setdefault(
                (path, exchange.service),
                {
                    "path": list(path),
                    "service": exchange.service,
                    "ageSeconds": int(exchange.age or 0),
                    "reason": reason,
                },
            )

    @property
    def degraded(self) -> list[dict[str, object]]:
        """`extensions.degraded`: fields answered from stale data, in path order."""
        return [self._degraded[key] for key in sorted(self._degraded, key=_sort_key)]

    @contextmanager
    def batch(self, loader: str, *, keys: int, requested: int) -> Iterator[object]:
        self._metrics.loader_batch(loader, keys)
        batch = LoaderBatch(
            self._tracer,
            f"loader {loader}",
            {
                "loader.name": loader,
                "loader.batch.size": requested,
                "loader.keys": keys,
                "loader.cache_hits": max(0, requested - keys),
            },
        )
        token = CURRENT_BATCH.set(batch)
        try:
            yield batch
        finally:
            CURRENT_BATCH.reset(token)
            if not batch.end():
                self._cached_batches.append(loader)

    @property
    def cached_batches(self) -> list[str]:
        """Loader batches the shared cache answered whole (they have no span)."""
        return self._cached_batches

    def memo_hit(self, loader: str) -> None:
        self._memo_hits[loader] += 1

    def debug_extension(self) -> dict[str, object]:
        """The timeline a frontend developer sees under `extensions.debug`."""
        context = self.span.get_span_context()
        calls = [self._exchange(exchange) for exchange in self._exchanges]
        return {
            "traceId": format_trace_id(context.trace_id) if context.is_valid else None,
            "durationMs": round((time.perf_counter() - self.started) * 1000, 2),
            "downstream": calls,
            "perRequestCache": dict(self._memo_hits),
            "warnings": self._warnings(),
            "deprecated": [
                {"coordinate": coordinate, "reason": reason}
                for coordinate, reason in self.deprecated.items()
            ],
        }

    def _exchange(self, exchange: Exchange) -> dict[str, object]:
        entry: dict[str, object] = {
            "service": exchange.service,
            "method": exchange.method,
            "route": exchange.route,
            "source": exchange.source,
            "startMs": round((exchange.started - self.started) * 1000, 2),
            "durationMs": round(exchange.seconds * 1000, 2),
        }
        optional = {
            "status": exchange.status,
            "error": exchange.error,
            "batchSize": exchange.batch_size,
            "ageSeconds": round(exchange.age, 1) if exchange.age is not None else None,
            "attempt": exchange.attempt if exchange.attempt > 1 else None,
            "hedge": True if exchange.hedge else None,
        }
        entry.update({key: value for key, value in optional.items() if value is not None})
        return entry

    def _warnings(self) -> list[str]:
        singles = Counter(
            (exchange.service, exchange.method, exchange.route)
            for exchange in self._exchanges
            if exchange.source == "network" and (exchange.batch_size or 1) == 1
        )
        return [
            f"{service} {method} {route} was called {count} times, one item each: "
            "an N+1 that a loader or a batch endpoint would avoid"
            for (service, method, route), count in singles.items()
            if count >= N_PLUS_ONE
        ]


_OBSERVING: ContextVar[Observation | None] = ContextVar("bff_observing", default=None)
"""The observation of the batched operation whose task is running."""


class SharedObserver:
    """Observes the loaders a batch's operations share, for the operations themselves.

    A report goes to the operation whose task made it: a memo hit to the one that
    loaded, a loader batch and its downstream calls to the one whose load opened
    it (its span sits under that operation's). Stale data goes to every operation
    of the batch, since any of them may have read it: each is marked degraded and
    none is cached.
    """

    def __init__(self) -> None:
        self._observations: list[Observation] = []

    def join(self, observation: Observation) -> None:
        """`observation`'s operation runs in this task, on the shared loaders."""
        self._observations.append(observation)
        _OBSERVING.set(observation)

    def _current(self) -> Observation:
        current = _OBSERVING.get()
        return current if current is not None else self._observations[0]

    def record(self, exchange: Exchange) -> None:
        current = self._current()
        current.record(exchange)
        if exchange.source == "stale":
            for observation in self._observations:
                if observation is not current:
                    observation.stale_read(exchange)

    def batch(self, loader: str, *, keys: int, requested: int) -> AbstractContextManager[object]:
        return self._current().batch(loader, keys=keys, requested=requested)

    def memo_hit(self, loader: str) -> None:
        self._current().memo_hit(loader)


class Telemetry:
    """Process-wide: the tracer and the metrics every operation reports to."""

    def __init__(
        self, tracer: Tracer, metrics: Metrics, *, usage: UsagePipeline | None = None
    ) -> None:
        self.tracer = tracer
        self.metrics = metrics
        self.usage = usage

    @contextmanager
    def operation(
        self,
        *,
        request_id: str,
        client: tuple[str, str],
        detailed: bool,
        started: float | None = None,
    ) -> Iterator[Observation]:
        """One operation's observation; `started` (`time.perf_counter()`) when it began
        before its span, as when its request was read first."""
        self.metrics.in_flight.inc()
        span = self.tracer.start_span("graphql", kind=SpanKind.INTERNAL)
        observation = Observation(
            self.tracer, self.metrics, span, detailed=detailed, started=started
        )

        def finish() -> None:
            self.metrics.in_flight.dec()
            self._report(observation, span, request_id, client)
            span.end()

        observation._finish = finish
        try:
            with use_span(span, end_on_exit=False):
                yield observation
        finally:
            if not observation._kept_open:
                observation._finished()

    @contextmanager
    def subscription(
        self, *, request_id: str, client: tuple[str, str], trace_headers: Mapping[str, str]
    ) -> Iterator[Observation]:
        """A subscription's observation, its span continuing the socket's trace headers."""
        self.metrics.subscriptions_active.inc()
        token = attach(PROPAGATOR.extract(dict(trace_headers)))
        try:
            with self.tracer.start_as_current_span("graphql", kind=SpanKind.SERVER) as span:
                observation = Observation(self.tracer, self.metrics, span, detailed=False)
                observation.outcome = "refused"
                try:
                    yield observation
                finally:
                    self._report_subscription(observation, span, request_id, client)
        finally:
            detach(token)
            self.metrics.subscriptions_active.dec()

    def _report_subscription(
        self, observation: Observation, span: Span, request_id: str, client: tuple[str, str]
    ) -> None:
        seconds = time.perf_counter() - observation.started
        if observation.outcome in ("refused", "failed"):
            span.set_status(StatusCode.ERROR)
        if observation.error_codes:
            span.set_attribute("graphql.error.codes", sorted(set(observation.error_codes)))
        self.metrics.subscriptions.labels(observation.outcome).inc()
        context = span.get_span_context()
        subscription_logger.info(
            "subscription %s %s",
            observation.operation_name or "-",
            observation.outcome,
            extra={
                "fields": {
                    "request_id": request_id,
                    "trace_id": format_trace_id(context.trace_id) if context.is_valid else None,
                    "operation_name": observation.operation_name,
                    "operation_type": observation.operation_type,
                    "client_name": client[0],
                    "client_version": client[1],
                    "duration_ms": round(seconds * 1000, 2),
                    "events": observation.events,
                    "downstream_calls": observation.network_calls,
                    "outcome": observation.outcome,
                    "error_codes": sorted(set(observation.error_codes)),
                }
            },
        )

    def _report(
        self, observation: Observation, span: Span, request_id: str, client: tuple[str, str]
    ) -> None:
        seconds = time.perf_counter() - observation.started
        if observation.outcome == "error":
            span.set_status(StatusCode.ERROR)
        if observation.error_codes:
            span.set_attribute("graphql.error.codes", sorted(set(observation.error_codes)))
        if observation.cached_batches:
            span.set_attribute("bff.loader.cached_batches", observation.cached_batches)
        self.metrics.operation(
            name=observation.operation_name,
            type_=observation.operation_type,
            client=client,
            outcome=observation.outcome,
            seconds=seconds,
        )
        self.metrics.deprecated_usage(observation.deprecated, client)
        if self.usage is not None:
            self.usage.tally(
                observation.prepared,
                observation.operation_name,
                client,
                observation.outcome,
                observation.error_codes,
                seconds,
                observation.variants,
            )
            if self.usage.sampled():
                self.usage.record(_operation_event(observation, client, seconds))
        context = span.get_span_context()
        logger.info(
            "%s %s %s",
            observation.operation_type or "request",
            observation.operation_name or "-",
            observation.outcome,
            extra={
                "fields": {
                    "request_id": request_id,
                    "trace_id": format_trace_id(context.trace_id) if context.is_valid else None,
                    "span_id": format_span_id(context.span_id) if context.is_valid else None,
                    "operation_name": observation.operation_name,
                    "operation_type": observation.operation_type,
                    "client_name": client[0],
                    "client_version": client[1],
                    "duration_ms": round(seconds * 1000, 2),
                    "downstream_calls": observation.network_calls,
                    "degraded_fields": len(observation.degraded),
                    "outcome": observation.outcome,
                    "error_codes": sorted(set(observation.error_codes)),
                    **(
                        {"batch_size": observation.batch_size}
                        if observation.batch_size is not None
                        else {}
                    ),
                }
            },
        )


def _operation_event(
    observation: Observation, client: tuple[str, str], seconds: float
) -> OperationEvent:
    prepared = observation.prepared
    return OperationEvent(
        time=time.time(),
        operation_name=observation.operation_name,
        operation_hash=prepared.sha256 if prepared is not None else None,
        operation_type=observation.operation_type,
        client_name=client[0],
        client_version=client[1],
        fields=prepared.coordinates if prepared is not None else (),
        duration_ms=seconds * 1000,
        outcome=observation.outcome,
        error_codes=observation.error_codes,
        variants=observation.variants,
    )


def _sort_key(key: tuple[tuple[str | int, ...], str]) -> tuple[tuple[str, ...], str]:
    """Sorted by path (list indexes by value), then service."""
    path, service = key
    return tuple(f"{part:010d}" if isinstance(part, int) else part for part in path), service
