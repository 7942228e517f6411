"""Downstream calls, traced and measured by wrapping each service's wire.

Every call gets a CLIENT span (HTTP semantic-convention attributes, the route
template, and for retries and hedges `http.request.resend_count`) and carries
the W3C `traceparent`/`tracestate` (and `baggage`, when the caller's is let
through) of that span, so the downstream service's own spans join the same
trace. Its outcome and duration feed the metrics. A stream's span covers its
opening, up to the reply's status.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import replace
from urllib.parse import urlsplit

from opentelemetry.trace import Span, SpanKind, StatusCode, Tracer

from bff.metrics import Metrics
from bff.tracing import CURRENT_BATCH, PROPAGATOR
from clients.wire import Outgoing, Reply, Streaming, Wire


class ObservedWire:
    def __init__(self, inner: Wire, *, service: str, tracer: Tracer, metrics: Metrics) -> None:
        self._inner = inner
        self._service = service
        self._tracer = tracer
        self._metrics = metrics
        self.base_url = inner.base_url
        address = urlsplit(inner.base_url)
        self._host = address.hostname or ""
        self._port = address.port or (443 if address.scheme == "https" else 80)

    async def send(self, request: Outgoing) -> Reply:
        with self._observed(request) as (span, sent, started):
            reply = await self._inner.send(sent)
            self._answered(span, request.route, reply.status, started)
            return reply

    @asynccontextmanager
    async def stream(self, request: Outgoing) -> AsyncIterator[Streaming]:
        async with AsyncExitStack() as stack:
            with self._observed(request) as (span, sent, started):
                streaming = await stack.enter_async_context(self._inner.stream(sent))
                self._answered(span, request.route, streaming.status, started)
            yield streaming

    async def aclose(self) -> None:
        await self._inner.aclose()

    @contextmanager
    def _observed(self, request: Outgoing) -> Iterator[tuple[Span, Outgoing, float]]:
        """A CLIENT span around the call, the request carrying its trace context, its start."""
        batch = CURRENT_BATCH.get()
        with self._tracer.start_as_current_span(
            f"{request.method} {request.route}",
            context=batch.parent_context() if batch is not None else None,
            kind=SpanKind.CLIENT,
            attributes={
                "http.request.method": request.method,
                "http.route": request.route,
                "server.address": self._host,
                "server.port": self._port,
                "bff.service": self._service,
            },
        ) as span:
            if request.resend_count:
                span.set_attribute("http.request.resend_count", request.resend_count)
            headers = dict(request.headers or {})
            PROPAGATOR.inject(headers)
            started = time.perf_counter()
            try:
                yield span, replace(request, headers=headers), started
            except BaseException as error:
                span.set_attribute("error.type", type(error).__name__)
                span.set_status(StatusCode.ERROR)
                self._metrics.downstream(
                    service=self._service,
                    route=request.route,
                    status=type(error).__name__,
                    seconds=time.perf_counter() - started,
                )
                raise

    def _answered(self, span: Span, route: str, status: int, started: float) -> None:
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_status(StatusCode.ERROR)
        self._metrics.downstream(
            service=self._service,
            route=route,
            status=str(status),
            seconds=time.perf_counter() - started,
        )
