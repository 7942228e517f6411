"""Server spans in the demo services, continuing the caller's W3C trace context.

With a BFF in front, a demo service's spans land in the same trace as the BFF's
client span for that call, so a tracing backend shows the whole path.
`providers_from_environ` exports them over OTLP/HTTP when the standard
`OTEL_EXPORTER_OTLP_ENDPOINT` is set, each service under its own service name.
"""

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import attach, detach
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import Scope

PROPAGATOR = CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])


@contextmanager
def server_span(tracer: Tracer, template: str, scope: Scope) -> Iterator[Span]:
    """A SERVER span for one request to a contract route, child of the caller's span."""
    carrier = {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in scope["headers"]
        if name in (b"traceparent", b"tracestate", b"baggage")
    }
    method, route = template.split(" ", 1)
    token = attach(PROPAGATOR.extract(carrier))
    try:
        with tracer.start_as_current_span(
            template,
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": method,
                "http.route": route,
                "url.path": scope["path"],
            },
        ) as span:
            yield span
    finally:
        detach(token)


def providers_from_environ(
    names: Iterable[str], environ: Mapping[str, str]
) -> dict[str, TracerProvider] | None:
    """One OTLP-exporting provider per service, or None without an endpoint."""
    base = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "")
    endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or (
        base.rstrip("/") + "/v1/traces" if base else ""
    )
    if not endpoint or environ.get("OTEL_TRACES_EXPORTER") == "none":
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    providers = {}
    for name in names:
        provider = TracerProvider(resource=Resource({"service.name": f"demo-{name}"}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        providers[name] = provider
    return providers
