"""Traces: every request continues its caller's W3C trace context, or starts one.

The span tree of one operation is drawn in docs/observability.md, Traces.
"""

from __future__ import annotations

import time
from contextvars import ContextVar

from graphql import (
    BooleanValueNode,
    DocumentNode,
    EnumValueNode,
    FloatValueNode,
    IntValueNode,
    ListValueNode,
    Node,
    ObjectValueNode,
    StringValueNode,
    Visitor,
    print_ast,
    visit,
)
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context, attach, detach, get_current
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    Sampler,
    TraceIdRatioBased,
)
from opentelemetry.trace import (
    Span,
    SpanKind,
    StatusCode,
    Tracer,
    get_current_span,
    set_span_in_context,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bff.config.settings import TracingSettings

PROPAGATOR = CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
"""W3C `traceparent`/`tracestate` and `baggage`, read from callers and sent downstream.

`baggage` reaches it only when `BFF_FORWARD_BAGGAGE` allows (see `TracingMiddleware`).
"""

INSTRUMENTATION = "bff"


def tracer_provider(settings: TracingSettings) -> TracerProvider:
    """A provider per the `OTEL_*` settings: OTLP over HTTP/protobuf, console, or none."""
    attributes: dict[str, str] = {"service.name": settings.service_name}
    attributes.update(_pairs(settings.resource_attributes))
    provider = TracerProvider(resource=Resource(attributes), sampler=_sampler(settings))
    exporter: SpanExporter | None = None
    if settings.exporter == "otlp" and settings.endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=settings.endpoint, headers=_pairs(settings.headers))
    elif settings.exporter == "console":
        exporter = ConsoleSpanExporter()
    if exporter is not None:
        # Large batches: each export is an HTTP request, which costs more than
        # encoding another few hundred spans; the queue holds a few seconds' worth.
        provider.add_span_processor(
            BatchSpanProcessor(
                exporter,
                max_queue_size=16_384,
                max_export_batch_size=4_096,
                schedule_delay_millis=2_000,
            )
        )
    return provider


def _sampler(settings: TracingSettings) -> Sampler:
    try:
        ratio = float(settings.sampler_arg) if settings.sampler_arg else 1.0
    except ValueError:
        ratio = 1.0
    root: Sampler = {
        "always_on": ALWAYS_ON,
        "always_off": ALWAYS_OFF,
        "traceidratio": TraceIdRatioBased(ratio),
    }[settings.sampler.removeprefix("parentbased_")]
    return ParentBased(root) if settings.sampler.startswith("parentbased_") else root


def _pairs(text: str) -> dict[str, str]:
    pairs = (item.split("=", 1) for item in text.split(",") if "=" in item)
    return {key.strip(): value.strip() for key, value in pairs}


class TracingMiddleware:
    """One SERVER span per HTTP request, current for everything the request does.

    A caller's `baggage` is dropped here, for HTTP and WebSocket alike, unless
    `forward_baggage`: its entries are whatever the client wrote, and what
    enters the context is injected into every downstream call.
    """

    def __init__(
        self, app: ASGIApp, tracer: Tracer, routes: frozenset[str], *, forward_baggage: bool
    ) -> None:
        self.app = app
        self.tracer = tracer
        self.routes = routes
        self.forward_baggage = forward_baggage

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.forward_baggage and scope["type"] in ("http", "websocket"):
            scope = _without_baggage(scope)
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in (b"traceparent", b"tracestate", b"baggage")
        }
        method = scope["method"]
        path = scope["path"]
        route = path if path in self.routes else None
        attributes: dict[str, str | int] = {"http.request.method": method, "url.path": path}
        if route:
            attributes["http.route"] = route
        status = 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        # Attached (not just passed as the parent) so the caller's baggage stays in
        # the context that downstream calls inject from.
        token = attach(PROPAGATOR.extract(carrier))
        try:
            with self.tracer.start_as_current_span(
                f"{method} {route}" if route else method,
                kind=SpanKind.SERVER,
                attributes=attributes,
            ) as span:
                try:
                    await self.app(scope, receive, send_observed)
                finally:
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(StatusCode.ERROR)
        finally:
            detach(token)


def _without_baggage(scope: Scope) -> Scope:
    """The scope with no `baggage` header: a copy, as the server's scope is not ours to edit."""
    headers = scope["headers"]
    if not any(name == b"baggage" for name, _ in headers):
        return scope
    return {**scope, "headers": [(name, value) for name, value in headers if name != b"baggage"]}


class LoaderBatch:
    """A loader batch whose span is opened only once one of its reads leaves the process.

    Most batches of a warm request are answered by the shared cache; exporting a
    span for each costs more than the reads themselves (measured: a quarter of
    ProductPage's throughput), so those are only listed on the operation span
    (`bff.loader.cached_batches`), and a batch gets a span of its own, back-dated
    to its start, when it makes a downstream call, as that call's parent.
    """

    def __init__(self, tracer: Tracer, name: str, attributes: dict[str, str | int]) -> None:
        self._tracer = tracer
        self._name = name
        self._attributes = attributes
        self._started = time.time_ns()
        self._parent = get_current()
        self._span: Span | None = None
        self._ended = False

    def parent_context(self) -> Context:
        """The context a downstream call made for this batch starts its span in."""
        if self._ended or not get_current_span(self._parent).is_recording():
            return self._parent  # an unrecorded trace gets no span for the batch either
        if self._span is None:
            self._span = self._tracer.start_span(
                self._name,
                context=self._parent,
                start_time=self._started,
                attributes=self._attributes,
            )
        return set_span_in_context(self._span, self._parent)

    def end(self) -> bool:
        """Close the batch; True when it had a span (it reached a downstream service)."""
        self._ended = True
        if self._span is None:
            return False
        self._span.end()
        return True


CURRENT_BATCH: ContextVar[LoaderBatch | None] = ContextVar("bff_loader_batch", default=None)


def document_signature(document: DocumentNode) -> str:
    """The document with every literal value blanked, safe to record: no personal data."""

    class Blank(Visitor):
        def enter(self, node: Node, *_: object) -> object:
            if isinstance(node, StringValueNode):
                return StringValueNode(value="")
            if isinstance(node, IntValueNode | FloatValueNode):
                return IntValueNode(value="0")
            if isinstance(node, BooleanValueNode | EnumValueNode):
                return node
            if isinstance(node, ListValueNode):
                return ListValueNode(values=())
            if isinstance(node, ObjectValueNode):
                return ObjectValueNode(fields=())
            return None

    return print_ast(visit(document, Blank()))
