"""Prometheus metrics, served at `GET /metrics` by `prometheus_client`.

Labels stay bounded: operation names and clients past the configured counts
are counted under `other` (see docs/observability.md, Metrics).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response

from bff.observability import metrics_directory
from clients.breaker import STATES

OTHER = "other"
UNKNOWN = "unknown"
REFRESH_INTERVAL_S = 1.0
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500)


@dataclass(frozen=True, slots=True)
class CacheReading:
    """A cache's hit and miss totals so far."""

    cache: str
    hits: int
    misses: int


class _Bounded:
    """The first `limit` distinct values pass; the rest become `other`."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        if len(self._seen) >= self._limit:
            return OTHER
        self._seen.add(value)
        return value


class Metrics:
    """The BFF's metrics; `directory` is the workers' shared one, if any (`metrics_directory`).

    Gauges say how to add up across workers (`multiprocess_mode`): the counts
    of live workers are summed, so with one worker they read as they always did.
    """

    def __init__(
        self,
        *,
        max_operations: int,
        max_clients: int,
        caches: Callable[[], Iterable[CacheReading]] = tuple,
        circuits: Callable[[], Mapping[str, str]] = dict,
        event_streams: Callable[[], float] = lambda: 0.0,
        directory: str | None = None,
    ) -> None:
        self.registry = CollectorRegistry()
        self._directory = directory
        self._caches = caches
        self._circuits = circuits
        self._event_streams = event_streams
        self._counted: dict[tuple[str, str], int] = {}
        self._refreshing: asyncio.Task[None] | None = None
        self._operation = _Bounded(max_operations)
        self._client = _Bounded(max_clients)
        operation_labels = ["operation_name", "operation_type", "client_name", "client_version"]
        self._requests = Counter(
            "bff_graphql_requests",
            "GraphQL operations answered, by outcome (ok, partial, error).",
            [*operation_labels, "outcome"],
            registry=self.registry,
        )
        self._duration = Histogram(
            "bff_graphql_request_duration_seconds",
            "Time to answer a GraphQL operation.",
            operation_labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "bff_graphql_requests_in_flight",
            "GraphQL requests being answered now.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self._downstream = Counter(
            "bff_downstream_requests",
            "Calls to downstream services, by service, route template and status.",
            ["service", "route", "status"],
            registry=self.registry,
        )
        self._downstream_duration = Histogram(
            "bff_downstream_request_duration_seconds",
            "Time downstream services took to answer.",
            ["service", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._calls: dict[tuple[str, str, str], Counter] = {}
        self._call_times: dict[tuple[str, str], Histogram] = {}
        self._batch_sizes: dict[str, Histogram] = {}
        self._batch = Histogram(
            "bff_loader_batch_size",
            "Keys per loader batch, after deduplication.",
            ["loader"],
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.retries = Counter(
            "bff_downstream_retries",
            "Retried downstream calls, by service and the failure retried.",
            ["service", "reason"],
            registry=self.registry,
        )
        self.retries_refused = Counter(
            "bff_downstream_retries_refused",
            "Retries or hedges not made, by service and the limit that said no (budget, deadline).",
            ["service", "limit"],
            registry=self.registry,
        )
        self.hedges = Counter(
            "bff_downstream_hedges",
            "Duplicate reads sent because the first was late.",
            ["service"],
            registry=self.registry,
        )
        self.circuit_changes = Counter(
            "bff_circuit_transitions",
            "Circuit-breaker state changes, by service and new state.",
            ["service", "state"],
            registry=self.registry,
        )
        self.stale_served = Counter(
            "bff_stale_served",
            "Expired cached reads served because the downstream read failed, "
            "by service and failure.",
            ["service", "reason"],
            registry=self.registry,
        )
        self.shed = Counter(
            "bff_requests_shed",
            "GraphQL requests refused with 503 because too many were in flight.",
            registry=self.registry,
        )
        self.persisted_queries = Counter(
            "bff_persisted_queries",
            "Persisted-query lookups by outcome (hit, miss, registered, trusted, mismatch, "
            "refused).",
            ["outcome"],
            registry=self.registry,
        )
        self.usage_events = Counter(
            "bff_usage_events",
            "Usage events by what became of them (written, dropped: queue full, failed: sink).",
            ["result"],
            registry=self.registry,
        )
        self.redis_errors = Counter(
            "bff_redis_errors",
            "Redis calls that failed and were done without, by use and action.",
            ["use", "action"],
            registry=self.registry,
        )
        self._deprecated = Counter(
            "bff_deprecated_usage",
            "Operations using a deprecated field, argument or enum value, by schema "
            "coordinate and client.",
            ["coordinate", "client_name", "client_version"],
            registry=self.registry,
        )
        self.subscriptions_active = Gauge(
            "bff_subscriptions_active",
            "GraphQL subscriptions running now.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.subscriptions = Counter(
            "bff_subscriptions",
            "GraphQL subscriptions ended, by outcome (completed, cancelled, closed, refused, "
            "failed).",
            ["outcome"],
            registry=self.registry,
        )
        self.websockets_open = Gauge(
            "bff_websockets_open",
            "WebSockets open now.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self._event_streams_open = Gauge(
            "bff_event_streams_open",
            "Downstream event streams open now, out of BFF_MAX_EVENT_STREAMS.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.websocket_refusals = Counter(
            "bff_websocket_refusals",
            "WebSockets, subscriptions and event streams refused by a cap, and sockets "
            "closed because their token expired, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self._cache_lookups = Counter(
            "bff_cache_lookups",
            "Cache lookups by cache and result.",
            ["cache", "result"],
            registry=self.registry,
        )
        self._circuit_state = Gauge(
            "bff_circuit_state",
            "1 for each downstream service's current circuit-breaker state (with several "
            "workers: how many of them are in it).",
            ["service", "state"],
            registry=self.registry,
            multiprocess_mode="livesum",
        )

    def refresh(self) -> None:
        """Bring what the caches, breakers and streams hold into the metrics."""
        for reading in self._caches():
            for result, total in (("hit", reading.hits), ("miss", reading.misses)):
                counted = self._counted.get((reading.cache, result), 0)
                # Labelled even at zero, so that a cache shows before its first lookup.
                lookups = self._cache_lookups.labels(reading.cache, result)
                if total > counted:
                    lookups.inc(total - counted)
                    self._counted[reading.cache, result] = total
        for service, current in self._circuits().items():
            for state in STATES:
                self._circuit_state.labels(service, state).set(1.0 if state == current else 0.0)
        self._event_streams_open.set(self._event_streams())

    def start(self) -> None:
        """With several workers, publish this one's readings every second for the others."""
        if self._directory is not None:
            self._refreshing = asyncio.create_task(self._refresh_every(REFRESH_INTERVAL_S))

    async def stop(self) -> None:
        """Publish the last readings, then leave the live workers' gauges."""
        if self._refreshing is not None:
            self._refreshing.cancel()
            with suppress(asyncio.CancelledError):
                await self._refreshing
            self._refreshing = None
        if self._directory is not None:
            self.refresh()
            metrics_directory.leave(self._directory)

    async def _refresh_every(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            self.refresh()

    def operation(
        self,
        *,
        name: str | None,
        type_: str | None,
        client: tuple[str, str],
        outcome: str,
        seconds: float,
    ) -> None:
        name_label = self._operation(name) if name else UNKNOWN
        labels = (name_label, type_ or UNKNOWN, *self._client_labels(client))
        self._requests.labels(*labels, outcome).inc()
        self._duration.labels(*labels).observe(seconds)

    def deprecated_usage(self, coordinates: Collection[str], client: tuple[str, str]) -> None:
        """One operation used these deprecated coordinates (bounded by the schema)."""
        if not coordinates:
            return
        client_labels = self._client_labels(client)
        for coordinate in coordinates:
            self._deprecated.labels(coordinate, *client_labels).inc()

    def _client_labels(self, client: tuple[str, str]) -> tuple[str, str]:
        client_name, client_version = client
        if self._client(f"{client_name}\0{client_version}") == OTHER:
            return OTHER, OTHER
        return client_name, client_version

    def downstream(self, *, service: str, route: str, status: str, seconds: float) -> None:
        # Children by label values, kept: `labels()` takes a lock and checks its
        # arguments on every call, and these run for every downstream call.
        counted = self._calls.get((service, route, status))
        if counted is None:
            counted = self._calls[(service, route, status)] = self._downstream.labels(
                service, route, status
            )
        timed = self._call_times.get((service, route))
        if timed is None:
            timed = self._call_times[(service, route)] = self._downstream_duration.labels(
                service, route
            )
        counted.inc()
        timed.observe(seconds)

    def loader_batch(self, loader: str, keys: int) -> None:
        sized = self._batch_sizes.get(loader)
        if sized is None:
            sized = self._batch_sizes[loader] = self._batch.labels(loader)
        sized.observe(keys)

    async def endpoint(self, request: Request) -> Response:
        self.refresh()
        registry = (
            metrics_directory.collected(self._directory)
            if self._directory is not None
            else self.registry
        )
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
