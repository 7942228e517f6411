"""The Starlette application: routes, lifespan and the per-request context."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from pathlib import Path

import httpx
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Tracer
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from bff.config.settings import (
    AuthSettings,
    PersistedSettings,
    RateLimitSettings,
    Settings,
)
from bff.contract.persisted import LocalQueryStore, PersistedQueries, QueryStore, RedisQueryStore
from bff.contract.trusted_documents import TrustedDocuments
from bff.execution.limits import Limits
from bff.execution.operations import Operations
from bff.execution.response_cache import ResponseCache
from bff.http import graphiql
from bff.http.compression import Compression
from bff.http.endpoint import METHODS, GraphQLEndpoint
from bff.http.health import Readiness, healthz
from bff.http.last_resort import LastResort, http_error
from bff.observability.downstream import ObservedWire
from bff.observability.metrics import CacheReading, Metrics
from bff.observability.protections import ResilienceReporter
from bff.observability.tracing import INSTRUMENTATION, TracingMiddleware
from bff.observability.tracing import tracer_provider as build_tracer_provider
from bff.pipeline.lifecycle import CloseWhileDraining, Lifecycle
from bff.pipeline.observation import Observation, SharedObserver, Telemetry
from bff.pipeline.operation import Pipeline
from bff.product.decisions import ProductDecisions
from bff.security.auth import Authenticator, KeySet, TokenRules
from bff.security.http_headers import SecurityHeaders, cors
from bff.security.rate_limit import Buckets, LocalBuckets, RateLimiter, RedisBuckets
from bff.ws.sessions import SessionRules, WebSocketEndpoint
from bff.ws.subscriptions import Subscriptions
from clients.cache import SharedCache
from clients.http import CallScope
from clients.recording import Recorder
from clients.registry import Clients, open_clients
from clients.remote_cache import RemoteCache
from clients.streams import StreamSlots
from clients.wire import Wire
from resolvers.context import Caller, Context
from resolvers.experiments import Subject
from resolvers.loaders import Loaders, build_loaders
from schema import build_schema


def create_app(
    settings: Settings,
    *,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    clock: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], float] = time.time,
    tracer_provider: TracerProvider | None = None,
    handle_signals: bool = False,
    metrics_directory: str | None = None,
) -> Starlette:
    """Build the app.

    Tests pass `transports` to replace the network to downstream services,
    `clock` to age the caches and move breakers and retry budgets without
    waiting, `wall_clock` to expire tokens on open WebSockets without waiting,
    and `tracer_provider` to capture spans; otherwise spans go where the
    `OTEL_*` settings say. A served process passes `handle_signals` to drain on
    SIGTERM (`bff.pipeline.lifecycle`), and `metrics_directory` when it is one of several
    workers sharing their metrics (`bff.observability.metrics_directory`).
    """

    runtime = Runtime()
    lifecycle = Lifecycle()
    cache = _downstream_cache(settings, clock)
    responses = _response_cache(settings, clock)
    provider = tracer_provider or build_tracer_provider(settings.tracing)
    tracer = provider.get_tracer(INSTRUMENTATION)
    operations = _operations(settings, tracer)
    stream_slots = StreamSlots(
        settings.subscriptions.max_event_streams,
        refused=lambda: metrics.websocket_refusals.labels("event_streams").inc(),
    )
    metrics = Metrics(
        max_operations=settings.metrics_max_operations,
        max_clients=settings.metrics_max_clients,
        caches=lambda: _cache_readings(cache, responses, operations),
        circuits=lambda: runtime.clients.circuits() if runtime.clients is not None else {},
        event_streams=lambda: stream_slots.open,
        directory=metrics_directory,
    )
    identity_http = httpx.AsyncClient(
        transport=(transports or {}).get("identity"), timeout=settings.readiness_timeout_s * 5
    )
    keys, authenticator = _authentication(settings.auth, identity_http, wall_clock)
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    remote = _remote_cache(settings, redis, metrics)
    if cache is not None:
        cache.remote = remote
    rate_limiter = _rate_limiter(settings.rate_limit, redis, clock)
    trusted, persisted = _persisted_queries(settings.persisted, redis, metrics)
    decisions = ProductDecisions(settings.product, redis=redis, metrics=metrics)

    def observed(service: str, inner: Wire) -> Wire:
        return ObservedWire(inner, service=service, tracer=tracer, metrics=metrics)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Each part closes when the app stops, in the reverse of the order pushed
        # here: drain first, flush the spans last.
        async with AsyncExitStack() as stack:
            stack.callback(provider.force_flush)
            stack.callback(operations.close)
            if redis is not None:
                stack.push_async_callback(redis.aclose)
            if remote is not None:
                stack.push_async_callback(remote.aclose)
            stack.push_async_callback(identity_http.aclose)
            runtime.clients = open_clients(
                settings.services,
                transports,
                cache,
                observed,
                clock=clock,
                events=ResilienceReporter(metrics),
                stream_slots=stream_slots,
            )
            stack.push_async_callback(runtime.close_clients)
            stack.callback(lifecycle.restore_signals)
            if keys is not None:
                await keys.refresh()
            if handle_signals:
                lifecycle.handle_signals(settings.resilience.shutdown_delay_s)
            metrics.start()
            stack.push_async_callback(metrics.stop)
            decisions.start()
            stack.push_async_callback(decisions.stop)
            if trusted is not None:
                watcher = asyncio.create_task(
                    trusted.file.watch(settings.persisted.reload_interval_s)
                )
                stack.push_async_callback(_cancel, watcher)
            stack.callback(lifecycle.drain)
            yield

    def scoped_clients(
        request_id: str, caller: Caller, recorder: Recorder, deadline: float | None
    ) -> Clients:
        scope = CallScope(
            request_id=request_id,
            caller_id=caller.user_id,
            authorization=caller.authorization,
            recorder=recorder,
            deadline=deadline,
        )
        return runtime.require_clients().scoped(scope)

    def make_loaders(
        request_id: str, caller: Caller, observer: SharedObserver, deadline: float | None
    ) -> Loaders:
        """A batch's loaders, shared by its operations."""
        scoped = scoped_clients(request_id, caller, observer, deadline)
        return build_loaders(scoped, batching=settings.batching, observer=observer)

    def make_context(
        request_id: str,
        caller: Caller,
        observation: Observation,
        deadline: float | None,
        subject: Subject,
        shared: Loaders | None,
    ) -> Context:
        scoped = scoped_clients(request_id, caller, observation, deadline)
        loaders = shared or build_loaders(scoped, batching=settings.batching, observer=observation)
        return Context(
            request_id=request_id,
            caller=caller,
            clients=scoped,
            loaders=loaders,
            experiments=decisions.assignments(subject, loaders, caller.user_id),
        )

    telemetry = Telemetry(tracer, metrics, usage=decisions.usage)
    # One pipeline for every transport: HTTP, batches, incremental delivery, WebSocket.
    pipeline = Pipeline(
        operations,
        make_context,
        telemetry,
        rate_limiter=rate_limiter,
        persisted=persisted,
        budget_for=settings.resilience.budget_for,
        responses=responses,
        make_loaders=make_loaders,
    )
    endpoint = GraphQLEndpoint(
        pipeline,
        authenticator,
        graphiql_page=_graphiql_page(settings),
        debug=settings.debug,
        max_body_bytes=settings.limits.max_body_bytes,
        csrf_prevention=settings.http.csrf_prevention,
        max_in_flight=settings.resilience.max_in_flight,
        vary=settings.response_cache_vary,
        batch_max=settings.limits.batch_max,
        batch_max_cost=settings.limits.batch_max_cost,
    )
    sockets = WebSocketEndpoint(
        Subscriptions(
            pipeline,
            authenticator,
            max_per_connection=settings.subscriptions.max_per_connection,
            max_per_user=settings.subscriptions.max_per_user,
            max_per_address=settings.subscriptions.max_per_address,
        ),
        lifecycle,
        _session_rules(settings),
        metrics,
        trusted_proxies=settings.rate_limit.trusted_proxies,
        clock=wall_clock,
    )
    app = Starlette(
        routes=_routes(settings, endpoint, sockets, runtime, lifecycle, metrics),
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error},
        middleware=_middleware(settings, lifecycle, tracer),
    )
    app.state.lifecycle = lifecycle
    app.state.operations = operations
    return app


def _routes(
    settings: Settings,
    endpoint: GraphQLEndpoint,
    sockets: WebSocketEndpoint,
    runtime: Runtime,
    lifecycle: Lifecycle,
    metrics: Metrics,
) -> list[BaseRoute]:
    routes: list[BaseRoute] = [
        Route("/graphql", endpoint.handle, methods=METHODS),
        WebSocketRoute("/graphql", sockets.handle),
        Route("/healthz", healthz),
        Route(
            "/readyz",
            Readiness(
                runtime.require_clients,
                settings.readiness_timeout_s,
                lifecycle,
                settings.readiness_services,
            ).readyz,
        ),
        Route("/metrics", metrics.endpoint),
    ]
    if settings.graphiql:
        routes.append(Mount(graphiql.ASSETS_PATH, graphiql.assets()))
    return routes


def _downstream_cache(settings: Settings, clock: Callable[[], float]) -> SharedCache | None:
    """The shared cache of downstream reads; None when it is off."""
    if not settings.downstream_cache:
        return None
    return SharedCache(
        max_entries=settings.downstream_cache_max_entries,
        max_bytes=settings.downstream_cache_max_bytes,
        stale_if_error_s=settings.resilience.stale_if_error_s,
        clock=clock,
    )


def _response_cache(settings: Settings, clock: Callable[[], float]) -> ResponseCache | None:
    """Whole responses of public queries; None when it is off."""
    if not settings.response_cache:
        return None
    return ResponseCache(
        max_bytes=settings.response_cache_max_bytes, vary=settings.response_cache_vary, clock=clock
    )


def _operations(settings: Settings, tracer: Tracer) -> Operations:
    limits = settings.limits
    return Operations(
        build_schema(),
        cache_bytes=settings.document_cache_bytes,
        planned=settings.planned_execution,
        tracer=tracer,
        resolver_spans=settings.resolver_spans,
        limits=Limits(
            max_depth=limits.max_depth,
            max_aliases=limits.max_aliases,
            max_root_fields=limits.max_root_fields,
            max_cost=limits.max_cost,
            default_list_size=limits.default_list_size,
        ),
        max_tokens=limits.max_tokens,
        validation_work=limits.max_validation_work,
        introspection=settings.http.introspection,
    )


def _authentication(
    auth: AuthSettings, identity_http: httpx.AsyncClient, wall_clock: Callable[[], float]
) -> tuple[KeySet | None, Authenticator]:
    """The bearer-token checks, and the key set the lifespan fetches first (None: no JWKS)."""
    keys = (
        KeySet(auth.jwks_url, identity_http, refresh_interval_s=auth.jwks_refresh_s)
        if auth.jwks_url
        else None
    )
    rules = TokenRules(
        issuer=auth.issuer,
        audience=auth.audience,
        algorithms=auth.algorithms,
        leeway_s=auth.leeway_s,
        hs256_secret=auth.hs256_secret or None,
        roles_claim=auth.roles_claim,
    )
    return keys, Authenticator(rules, keys, clock=wall_clock)


def _rate_limiter(
    limits: RateLimitSettings, redis: Redis | None, clock: Callable[[], float]
) -> RateLimiter | None:
    """Token buckets per caller, in Redis when there is one; None when rate limits are off."""
    if not limits.enabled:
        return None
    buckets: Buckets = (
        RedisBuckets(redis, limits.capacity, limits.refill_per_s)
        if redis is not None
        else LocalBuckets(limits.capacity, limits.refill_per_s, clock=clock)
    )
    return RateLimiter(
        buckets,
        trusted_proxies=limits.trusted_proxies,
        per_operation=limits.cost == "operation",
    )


def _persisted_queries(
    persisted: PersistedSettings, redis: Redis | None, metrics: Metrics
) -> tuple[TrustedDocuments | None, PersistedQueries]:
    """The trusted documents (watched by the lifespan) and the persisted-query lookup."""
    trusted = (
        TrustedDocuments(Path(persisted.trusted_documents)) if persisted.trusted_documents else None
    )
    return trusted, PersistedQueries(
        _query_store(persisted, redis, metrics),
        trusted,
        safelist=persisted.safelist,
        count=lambda outcome: metrics.persisted_queries.labels(outcome).inc(),
    )


def _graphiql_page(settings: Settings) -> Callable[[], Response] | None:
    if not settings.graphiql:
        return None
    return graphiql.page(
        "/graphql",
        debug=settings.debug,
        token=settings.graphiql_token,
    ).response


def _session_rules(settings: Settings) -> SessionRules:
    subscriptions = settings.subscriptions
    return SessionRules(
        keepalive_s=subscriptions.keepalive_s,
        init_timeout_s=subscriptions.init_timeout_s,
        max_message_bytes=settings.limits.max_body_bytes,
        max_sockets_per_user=subscriptions.max_sockets_per_user,
        max_sockets_per_address=subscriptions.max_sockets_per_address,
    )


def _middleware(settings: Settings, lifecycle: Lifecycle, tracer: Tracer) -> list[Middleware]:
    """Outermost first.

    A middleware that changes a response's headers sends a copy of the message:
    the message and its header list belong to the response, which may be sent
    again (tests/unit/bff/test_middleware.py).
    """
    compression = settings.compression_min_bytes
    return [
        Middleware(LastResort),
        Middleware(CloseWhileDraining, lifecycle=lifecycle),
        Middleware(
            TracingMiddleware,
            tracer=tracer,
            routes=TRACED_ROUTES,
            forward_baggage=settings.tracing.forward_baggage,
        ),
        Middleware(SecurityHeaders, tls=bool(settings.http.tls_cert_file)),
        *cors(settings.http.cors_origins),
        *([Middleware(Compression, min_bytes=compression)] if compression is not None else []),
    ]


TRACED_ROUTES = frozenset({"/graphql", "/healthz", "/readyz", "/metrics"})


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task


def _query_store(
    persisted: PersistedSettings, redis: Redis | None, metrics: Metrics
) -> QueryStore | None:
    """Where automatic persisted queries are registered; None when they are off."""
    if not persisted.apq or persisted.safelist:
        return None
    local = LocalQueryStore(persisted.cache_max_bytes)
    if redis is None:
        return local
    return RedisQueryStore(
        redis,
        local,
        ttl_s=persisted.redis_ttl_s,
        on_error=lambda action: metrics.redis_errors.labels("persisted_queries", action).inc(),
    )


def _remote_cache(settings: Settings, redis: Redis | None, metrics: Metrics) -> RemoteCache | None:
    """The downstream cache's Redis tier; None when it is off."""
    tier = settings.downstream_cache_redis
    if not tier.enabled or redis is None or not settings.downstream_cache:
        return None
    return RemoteCache(
        redis,
        prefix=tier.prefix,
        secret=tier.key,
        timeout_s=tier.timeout_s,
        on_error=lambda action: metrics.redis_errors.labels("downstream_cache", action).inc(),
    )


def _cache_readings(
    downstream: SharedCache | None, responses: ResponseCache | None, operations: Operations
) -> list[CacheReading]:
    readings = [CacheReading("document", *operations.document_cache_counts())]
    if downstream is not None:
        readings.append(CacheReading("downstream", downstream.stats.hits, downstream.stats.misses))
        if downstream.remote is not None:
            stats = downstream.remote.stats
            readings.append(CacheReading("downstream_redis", stats.hits, stats.misses))
    if responses is not None:
        readings.append(CacheReading("response", responses.stats.hits, responses.stats.misses))
    return readings


class Runtime:
    """What lives as long as the app: opened and closed by its lifespan."""

    clients: Clients | None = None

    async def close_clients(self) -> None:
        if self.clients is not None:
            await self.clients.aclose()
            self.clients = None

    def require_clients(self) -> Clients:
        if self.clients is None:
            raise RuntimeError("the app's lifespan has not started")
        return self.clients
