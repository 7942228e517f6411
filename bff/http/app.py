"""The Starlette application: routes, lifespan and the per-request context."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import httpx
from opentelemetry.sdk.trace import TracerProvider
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from bff.config.settings import Settings
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
from bff.pipeline.observation import Observation, Telemetry
from bff.product.decisions import ProductDecisions
from bff.security.auth import Authenticator, KeySet, TokenRules
from bff.security.http_headers import SecurityHeaders, cors
from bff.security.rate_limit import Buckets, LocalBuckets, RateLimiter, RedisBuckets
from bff.ws.sessions import SessionRules, WebSocketEndpoint
from bff.ws.subscriptions import Subscriptions
from clients.cache import SharedCache
from clients.http import CallScope
from clients.registry import Clients, open_clients
from clients.remote_cache import RemoteCache
from clients.streams import StreamSlots
from clients.wire import Wire
from resolvers.context import Caller, Context
from resolvers.experiments import Subject
from resolvers.loaders import build_loaders
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
    cache = (
        SharedCache(
            max_entries=settings.downstream_cache_max_entries,
            max_bytes=settings.downstream_cache_max_bytes,
            stale_if_error_s=settings.resilience.stale_if_error_s,
            clock=clock,
        )
        if settings.downstream_cache
        else None
    )

    responses = (
        ResponseCache(
            max_bytes=settings.response_cache_max_bytes,
            vary=settings.response_cache_vary,
            clock=clock,
        )
        if settings.response_cache
        else None
    )
    provider = tracer_provider or build_tracer_provider(settings.tracing)
    tracer = provider.get_tracer(INSTRUMENTATION)
    operations = Operations(
        build_schema(),
        cache_bytes=settings.document_cache_bytes,
        planned=settings.planned_execution,
        tracer=tracer,
        resolver_spans=settings.resolver_spans,
        limits=Limits(
            max_depth=settings.limits.max_depth,
            max_aliases=settings.limits.max_aliases,
            max_root_fields=settings.limits.max_root_fields,
            max_cost=settings.limits.max_cost,
            default_list_size=settings.limits.default_list_size,
        ),
        max_tokens=settings.limits.max_tokens,
        validation_work=settings.limits.max_validation_work,
        introspection=settings.http.introspection,
    )
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

    def observed(service: str, inner: Wire) -> Wire:
        return ObservedWire(inner, service=service, tracer=tracer, metrics=metrics)

    identity_http = httpx.AsyncClient(
        transport=(transports or {}).get("identity"), timeout=settings.readiness_timeout_s * 5
    )
    keys = (
        KeySet(
            settings.auth.jwks_url, identity_http, refresh_interval_s=settings.auth.jwks_refresh_s
        )
        if settings.auth.jwks_url
        else None
    )
    authenticator = Authenticator(
        TokenRules(
            issuer=settings.auth.issuer,
            audience=settings.auth.audience,
            algorithms=settings.auth.algorithms,
            leeway_s=settings.auth.leeway_s,
            hs256_secret=settings.auth.hs256_secret or None,
            roles_claim=settings.auth.roles_claim,
        ),
        keys,
        clock=wall_clock,
    )

    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    remote = _remote_cache(settings, redis, metrics)
    if cache is not None:
        cache.remote = remote
    rate_limiter = None
    if settings.rate_limit.enabled:
        buckets: Buckets = (
            RedisBuckets(redis, settings.rate_limit.capacity, settings.rate_limit.refill_per_s)
            if redis is not None
            else LocalBuckets(
                settings.rate_limit.capacity, settings.rate_limit.refill_per_s, clock=clock
            )
        )
        rate_limiter = RateLimiter(
            buckets,
            trusted_proxies=settings.rate_limit.trusted_proxies,
            per_operation=settings.rate_limit.cost == "operation",
        )

    trusted = (
        TrustedDocuments(Path(settings.persisted.trusted_documents))
        if settings.persisted.trusted_documents
        else None
    )
    persisted = PersistedQueries(
        _query_store(settings, redis, metrics),
        trusted,
        safelist=settings.persisted.safelist,
        count=lambda outcome: metrics.persisted_queries.labels(outcome).inc(),
    )

    decisions = ProductDecisions(settings.product, redis=redis, metrics=metrics)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime.clients = open_clients(
            settings.services,
            transports,
            cache,
            observed,
            clock=clock,
            events=ResilienceReporter(metrics),
            stream_slots=stream_slots,
        )
        if keys is not None:
            await keys.refresh()
        if handle_signals:
            lifecycle.handle_signals(settings.resilience.shutdown_delay_s)
        watcher = (
            asyncio.create_task(trusted.file.watch(settings.persisted.reload_interval_s))
            if trusted is not None
            else None
        )
        decisions.start()
        metrics.start()
        try:
            yield
        finally:
            lifecycle.drain()
            if watcher is not None:
                watcher.cancel()
                with suppress(asyncio.CancelledError):
                    await watcher
            await decisions.stop()
            await metrics.stop()
            lifecycle.restore_signals()
            await runtime.clients.aclose()
            await identity_http.aclose()
            if remote is not None:
                await remote.aclose()
            if redis is not None:
                await redis.aclose()
            runtime.clients = None
            operations.close()
            provider.force_flush()

    def make_context(
        request_id: str,
        caller: Caller,
        observation: Observation,
        deadline: float | None,
        subject: Subject,
    ) -> Context:
        scope = CallScope(
            request_id=request_id,
            caller_id=caller.user_id,
            authorization=caller.authorization,
            recorder=observation,
            deadline=deadline,
        )
        scoped = runtime.require_clients().scoped(scope)
        loaders = build_loaders(scoped, batching=settings.batching, observer=observation)
        return Context(
            request_id=request_id,
            caller=caller,
            clients=scoped,
            loaders=loaders,
            experiments=decisions.assignments(subject, loaders, caller.user_id),
        )

    telemetry = Telemetry(tracer, metrics, usage=decisions.usage)
    endpoint = GraphQLEndpoint(
        operations,
        make_context,
        authenticator,
        telemetry,
        graphiql_page=graphiql.page(
            "/graphql",
            debug=settings.debug,
            token=settings.graphiql_token,
        ).response
        if settings.graphiql
        else None,
        responses=responses,
        debug=settings.debug,
        max_body_bytes=settings.limits.max_body_bytes,
        rate_limiter=rate_limiter,
        csrf_prevention=settings.http.csrf_prevention,
        budget_for=settings.resilience.budget_for,
        max_in_flight=settings.resilience.max_in_flight,
        persisted=persisted,
        vary=settings.response_cache_vary,
    )
    sockets = WebSocketEndpoint(
        Subscriptions(
            operations,
            make_context,
            authenticator,
            telemetry,
            max_per_connection=settings.subscriptions.max_per_connection,
            max_per_user=settings.subscriptions.max_per_user,
            max_per_address=settings.subscriptions.max_per_address,
            budget_for=settings.resilience.budget_for,
            rate_limiter=rate_limiter,
            persisted=persisted,
        ),
        lifecycle,
        SessionRules(
            keepalive_s=settings.subscriptions.keepalive_s,
            init_timeout_s=settings.subscriptions.init_timeout_s,
            max_message_bytes=settings.limits.max_body_bytes,
            max_sockets_per_user=settings.subscriptions.max_sockets_per_user,
            max_sockets_per_address=settings.subscriptions.max_sockets_per_address,
        ),
        metrics,
        trusted_proxies=settings.rate_limit.trusted_proxies,
        clock=wall_clock,
    )
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
    traced = frozenset({"/graphql", "/healthz", "/readyz", "/metrics"})
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error},
        # Outermost first. A middleware that changes a response's headers sends a
        # copy of the message: the message and its header list belong to the
        # response, which may be sent again (tests/unit/bff/test_middleware.py).
        middleware=[
            Middleware(LastResort),
            Middleware(CloseWhileDraining, lifecycle=lifecycle),
            Middleware(
                TracingMiddleware,
                tracer=tracer,
                routes=traced,
                forward_baggage=settings.tracing.forward_baggage,
            ),
            Middleware(SecurityHeaders, tls=bool(settings.http.tls_cert_file)),
            *cors(settings.http.cors_origins),
            *(
                [Middleware(Compression, min_bytes=settings.compression_min_bytes)]
                if settings.compression_min_bytes is not None
                else []
            ),
        ],
    )
    app.state.lifecycle = lifecycle
    app.state.operations = operations
    return app


def _query_store(settings: Settings, redis: Redis | None, metrics: Metrics) -> QueryStore | None:
    """Where automatic persisted queries are registered; None when they are off."""
    if not settings.persisted.apq or settings.persisted.safelist:
        return None
    local = LocalQueryStore(settings.persisted.cache_max_bytes)
    if redis is None:
        return local
    return RedisQueryStore(
        redis,
        local,
        ttl_s=settings.persisted.redis_ttl_s,
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

    def require_clients(self) -> Clients:
        if self.clients is None:
            raise RuntimeError("the app's lifespan has not started")
        return self.clients
