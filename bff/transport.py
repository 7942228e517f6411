"""Downstream calls, traced and measured by wrapping each service's transport.

Every call gets a CLIENT span (HTTP semantic-convention attributes, the route
template the client passed in the request's extensions, and for retries and
hedges `http.request.resend_count`) and carries the W3C
`traceparent`/`tracestate`/`baggage` of that span, so the downstream service's
own spans join the same trace. Its outcome and duration feed the metrics.
"""

from __future__ import annotations

import time

import httpx
from opentelemetry.trace import SpanKind, StatusCode, Tracer

from bff.metrics import Metrics
from bff.tracing import CURRENT_BATCH, PROPAGATOR


class ObservedTransport(httpx.AsyncBaseTransport):
    def __init__(
        self, inner: httpx.AsyncBaseTransport, *, service: str, tracer: Tracer, metrics: Metrics
    ) -> None:
        self._inner = inner
        self._service = service
        self._tracer = tracer
        self._metrics = metrics

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        route = str(request.extensions.get("route", request.url.path))
        url = request.url
        started = time.perf_counter()
        batch = CURRENT_BATCH.get()
        with self._tracer.start_as_current_span(
            f"{request.method} {route}",
            context=batch.parent_context() if batch is not None else None,
            kind=SpanKind.CLIENT,
            attributes={
                "http.request.method": request.method,
                "http.route": route,
                "server.address": url.host,
                "server.port": url.port or (443 if url.scheme == "https" else 80),
                "bff.service": self._service,
            },
        ) as span:
            resends = request.extensions.get("resend_count")
            if resends:
                span.set_attribute("http.request.resend_count", int(resends))
            PROPAGATOR.inject(request.headers)
            try:
                response = await self._inner.handle_async_request(request)
            except BaseException as error:
                span.set_attribute("error.type", type(error).__name__)
                span.set_status(StatusCode.ERROR)
                self._metrics.downstream(
                    service=self._service,
                    route=route,
                    status=type(error).__name__,
                    seconds=time.perf_counter() - started,
                )
                raise
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 500:
                span.set_status(StatusCode.ERROR)
            self._metrics.downstream(
                service=self._service,
                route=route,
                status=str(response.status_code),
                seconds=time.perf_counter() - started,
            )
            return response

    async def aclose(self) -> None:
        await self._inner.aclose()
