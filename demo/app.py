"""Assembles one demo service: its contract routes behind the gate, health and admin.

Every contract route passes through a `Gate` that first records the request in the
service's `Stats` and then applies its `Faults` (a test's hold first, if it set one);
`/healthz` and `/_demo/*` bypass both, so probes and test bookkeeping neither count
nor fail.

The gate honours the caller's deadline: when a request says how long its caller
will wait (`X-Request-Timeout-Ms`) and the injected delay is longer, the service
gives up at the deadline with a `504` instead of working for nobody.
"""

import asyncio
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from opentelemetry.trace import Tracer
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from demo import admin
from demo.faults import Faults
from demo.http import ApiError, RequestIdEcho, error_response, json_response
from demo.stats import Stats
from demo.tracing import server_span

Endpoint = Callable[[Request], Awaitable[Response]]

_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}


@dataclass(frozen=True, slots=True)
class ContractRoute:
    method: str
    path: str
    endpoint: Endpoint

    @property
    def template(self) -> str:
        """The key the stats use, e.g. `GET /users/{id}`."""
        return f"{self.method} {self.path}"


class Gate:
    """Route-level ASGI middleware: count the request, then delay or fail it as configured."""

    def __init__(
        self,
        app: ASGIApp,
        template: str,
        stats: Stats,
        faults: Faults,
        tracer: Tracer | None = None,
    ) -> None:
        self.app = app
        self.template = template
        self.stats = stats
        self.faults = faults
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.tracer is None:
            await self._answer(scope, receive, send)
            return
        with server_span(self.tracer, self.template, scope):
            await self._answer(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.stats.record(self.template, scope)
        self.stats.entered()
        try:
            await self.faults.hold.enter()
            await self._disturbed(scope, receive, send)
        finally:
            self.stats.left()

    async def _disturbed(self, scope: Scope, receive: Receive, send: Send) -> None:
        disturbance = self.faults.draw()
        deadline = _deadline(scope)
        if deadline is not None and disturbance.delay >= deadline:
            await asyncio.sleep(deadline)
            self.stats.gave_up(self.template)
            response = error_response(504, "deadline_exceeded", "the caller's deadline passed")
            await response(scope, receive, send)
            return
        if disturbance.delay:
            await asyncio.sleep(disturbance.delay)
        if disturbance.fail:
            retry_after = self.faults.retry_after_s
            # Retry-After counts whole seconds.
            headers = {"Retry-After": str(math.ceil(retry_after))} if retry_after else None
            response = error_response(503, "unavailable", "injected fault", headers=headers)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _deadline(scope: Scope) -> float | None:
    """Seconds the caller will wait, from `X-Request-Timeout-Ms`, if it said."""
    for name, value in scope["headers"]:
        if name == b"x-request-timeout-ms":
            try:
                return max(0.0, int(value) / 1000)
            except ValueError:
                return None
    return None


def create_app(
    routes: Sequence[ContractRoute], stats: Stats, faults: Faults, tracer: Tracer | None = None
) -> RequestIdEcho:
    """The service's ASGI app; the request-id echo wraps even Starlette's 500 answers."""
    gated: list[BaseRoute] = [
        Route(
            route.path,
            route.endpoint,
            methods=[route.method],
            middleware=[Middleware(Gate, route.template, stats, faults, tracer)],
        )
        for route in routes
    ]
    app = Starlette(
        routes=[Route("/healthz", _healthz), *admin.routes(stats, faults), *gated],
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
    )
    return RequestIdEcho(app)


async def _healthz(request: Request) -> Response:
    return json_response({"status": "ok"})


async def _api_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ApiError)
    return error_response(error.status, error.code, error.message)


async def _http_error(request: Request, error: Exception) -> Response:
    # Starlette's own 404 (no route) and 405 (wrong method), in the contract's shape.
    assert isinstance(error, HTTPException)
    code = _CODES.get(error.status_code, "error")
    return error_response(error.status_code, code, str(error.detail), error.headers)


async def _internal_error(request: Request, error: Exception) -> Response:
    return error_response(500, "internal", "internal error")
