"""Downstream calls, traced and measured by wrapping each service's wire.

See docs/observability.md, Traces.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace
from urllib.parse import urlsplit

from opentelemetry.trace import (
    Span,
    SpanKind,
    StatusCode,
    Tracer,
    get_current_span,
    set_span_in_context,
)

from bff.observability.metrics import Metrics
from bff.observability.tracing import CURRENT_BATCH, PROPAGATOR
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
        span = self._span(request)
        started = time.perf_counter()
        try:
            reply = await self._inner.send(self._carrying(request, span))
        except BaseException as error:
            self._failed(span, request.route, error, started)
            raise
        self._answered(span, request.route, reply.status, started)
        return reply

    @asynccontextmanager
    async def stream(self, request: Outgoing) -> AsyncIterator[Streaming]:
        span = self._span(request)
        started = time.perf_counter()
        async with AsyncExitStack() as stack:
            try:
                streaming = await stack.enter_async_context(
                    self._inner.stream(self._carrying(request, span))
                )
            except BaseException as error:
                self._failed(span, request.route, error, started)
                raise
            self._answered(span, request.route, streaming.status, started)
            yield streaming

    async def aclose(self) -> None:
        await self._inner.aclose()

    def _span(self, request: Outgoing) -> Span:
        batch = CURRENT_BATCH.get()
        parent = batch.parent_context() if batch is not None else None
        enclosing = get_current_span(parent)
        if not enclosing.is_recording():
            # The trace is not recorded here: a span of this call would be dropped
            # too. Downstream gets the enclosing span's context, which it continues.
            return enclosing
        span = self._tracer.start_span(
            f"{request.method} {request.route}", context=parent, kind=SpanKind.CLIENT
        )
        if span.is_recording():
            span.set_attributes(
                {
                    "http.request.method": request.method,
                    "http.route": request.route,
                    "server.address": self._host,
                    "server.port": self._port,
                    "bff.service": self._service,
                }
            )
            if request.resend_count:
                span.set_attribute("http.request.resend_count", request.resend_count)
        return span

    def _carrying(self, request: Outgoing, span: Span) -> Outgoing:
        """The request with the span's trace context in its headers."""
        headers = dict(request.headers or {})
        PROPAGATOR.inject(headers, context=set_span_in_context(span))
        return replace(request, headers=headers)

    def _answered(self, span: Span, route: str, status: int, started: float) -> None:
        if span.is_recording():
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(StatusCode.ERROR)
            span.end()
        self._metrics.downstream(
            service=self._service,
            route=route,
            status=str(status),
            seconds=time.perf_counter() - started,
        )

    def _failed(self, span: Span, route: str, error: BaseException, started: float) -> None:
        if span.is_recording():
            span.set_attribute("error.type", type(error).__name__)
            span.set_status(StatusCode.ERROR)
            span.end()
        self._metrics.downstream(
            service=self._service,
            route=route,
            status=type(error).__name__,
            seconds=time.perf_counter() - started,
        )
