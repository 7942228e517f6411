"""The Starlette application: routes, lifespan and the per-request context."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager

import httpx
from graphql import GraphQLError
from opentelemetry.sdk.trace import TracerProvider
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import BaseRoute, Mount, Route

from bff import graphiql
from bff.graphql import METHODS, GraphQLEndpoint
from bff.health import Readiness, healthz
from bff.metrics import CacheReading, Metrics
from bff.observation import Observation, Telemetry
from bff.operations import Operations, RequestFailure
from bff.response_cache import ResponseCache
from bff.settings import Settings
from bff.tracing import INSTRUMENTATION, TracingMiddleware
from bff.tracing import tracer_provider as build_tracer_provider
from bff.transport import ObservedTransport
from clients.base import CallScope
from clients.cache import SharedCache
from clients.registry import Clients, open_clients
from resolvers.context import Caller, Context
from resolvers.loaders import build_loaders
from schema import build_schema

_USER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def create_app(
    settings: Settings,
    *,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    clock: Callable[[], float] = time.monotonic,
    tracer_provider: TracerProvider | None = None,
) -> Starlette:
    """Build the app.

    Tests pass `transports` to replace the network to downstream services,
    `clock` to age the caches without waiting, and `tracer_provider` to capture
    spans; otherwise spans go where the `OTEL_*` settings say.
    """

    runtime = Runtime()
    cache = (
        SharedCache(
            max_entries=settings.downstream_cache_max_entries,
            max_bytes=settings.downstream_cache_max_bytes,
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
        document_cache_size=settings.document_cache_size,
        planned=settings.planned_execution,
        tracer=tracer,
        resolver_spans=settings.resolver_spans,
    )
    metrics = Metrics(
        max_operations=settings.metrics_max_operations,
        max_clients=settings.metrics_max_clients,
        caches=lambda: _cache_readings(cache, responses, operations),
    )

    def observed(service: str, inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        return ObservedTransport(inner, service=service, tracer=tracer, metrics=metrics)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime.clients = open_clients(settings.services, transports, cache, observed)
        try:
            yield
        finally:
            await runtime.clients.aclose()
            runtime.clients = None
            provider.force_flush()

    def make_context(request: Request, request_id: str, observation: Observation) -> Context:
        caller = _caller(request, settings)
        scope = CallScope(request_id=request_id, caller_id=caller.user_id, recorder=observation)
        scoped = runtime.require_clients().scoped(scope)
        return Context(
            request_id=request_id,
            caller=caller,
            clients=scoped,
            loaders=build_loaders(scoped, batching=settings.batching, observer=observation),
        )

    endpoint = GraphQLEndpoint(
        operations,
        make_context,
        Telemetry(tracer, metrics),
        graphiql_page=graphiql.page("/graphql", debug=settings.debug)
        if settings.graphiql
        else None,
        responses=responses,
        debug=settings.debug,
    )
    routes: list[BaseRoute] = [
        Route("/graphql", endpoint.handle, methods=METHODS),
        Route("/healthz", healthz),
        Route("/readyz", Readiness(runtime.require_clients, settings.readiness_timeout_s).readyz),
        Route("/metrics", metrics.endpoint),
    ]
    if settings.graphiql:
        routes.append(Mount(graphiql.ASSETS_PATH, graphiql.assets()))
    traced = frozenset({"/graphql", "/healthz", "/readyz", "/metrics"})
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(TracingMiddleware, tracer=tracer, routes=traced)],
    )


def _cache_readings(
    downstream: SharedCache | None, responses: ResponseCache | None, operations: Operations
) -> list[CacheReading]:
    readings = [CacheReading("document", *operations.document_cache_counts())]
    if downstream is not None:
        readings.append(CacheReading("downstream", downstream.stats.hits, downstream.stats.misses))
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


def _caller(request: Request, settings: Settings) -> Caller:
    """Who is asking. Until bearer tokens land, `X-User-Id` stands in for sign-in."""
    if not settings.user_header:
        return Caller()
    user_id = request.headers.get("x-user-id")
    if user_id is None:
        return Caller()
    if not _USER_ID.fullmatch(user_id):
        raise RequestFailure(
            401,
            "UNAUTHENTICATED",
            [GraphQLError("X-User-Id must be a user id such as u1.")],
        )
    return Caller(user_id=user_id)
