"""Traces: one tree per operation, continued from the caller and into the services."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, format_span_id, format_trace_id

from bff.config.settings import TracingSettings
from bff.contract.examples import ORDER_STATUS, PRODUCT_PAGE
from bff.observability.tracing import tracer_provider
from clients.registry import DOWNSTREAM
from demo.services import SERVICE_NAMES, build_services
from tests.harness import running_bff
from tests.seed import DATA
from tests.sockets import eventually, subscribable_bff

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
PORTS = {service.name: service.port for service in DOWNSTREAM}
NO_CACHES = {"BFF_DOWNSTREAM_CACHE": "false", "BFF_RESPONSE_CACHE": "false"}


@pytest.fixture
def spans() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def by_id(finished: tuple[ReadableSpan, ...]) -> dict[int, ReadableSpan]:
    return {span.context.span_id: span for span in finished}


def parent_of(span: ReadableSpan, index: dict[int, ReadableSpan]) -> ReadableSpan | None:
    return index.get(span.parent.span_id) if span.parent else None


async def test_product_page_is_one_tree_from_server_to_downstream(
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = spans
    demo = build_services(tracer_providers=dict.fromkeys(SERVICE_NAMES, provider))
    async with running_bff(NO_CACHES, demo=demo, tracer_provider=provider) as bff:
        await bff.run(PRODUCT_PAGE, id="p1")

    finished = exporter.get_finished_spans()
    index = by_id(finished)
    assert len({span.context.trace_id for span in finished}) == 1
    (server,) = [s for s in finished if s.kind == SpanKind.SERVER and s.name == "POST /graphql"]
    (operation,) = [s for s in finished if s.name == "query ProductPage"]
    assert parent_of(operation, index) is server
    assert operation.attributes is not None
    assert operation.attributes["graphql.operation.name"] == "ProductPage"
    assert operation.attributes["graphql.operation.type"] == "query"
    assert "product(id: $id)" in str(operation.attributes["graphql.document"])
    assert server.attributes is not None
    assert server.attributes["http.response.status_code"] == 200

    (execute,) = [s for s in finished if s.name == "graphql.execute"]
    assert parent_of(execute, index) is operation
    loaders = [s for s in finished if s.name.startswith("loader ")]
    assert {s.name for s in loaders} == {
        "loader products",
        "loader stock",
        "loader ratings",
        "loader categories",
        "loader reviews_by_product",
        "loader users",
    }
    for loader in loaders:
        assert parent_of(loader, index) is execute, loader.name
        assert loader.attributes is not None
        assert loader.attributes["loader.keys"] >= 1  # type: ignore[operator]

    clients = [s for s in finished if s.kind == SpanKind.CLIENT]
    assert len(clients) == 6
    for client in clients:
        parent = parent_of(client, index)
        assert parent is not None
        assert parent.name.startswith("loader "), client.name
        assert client.attributes is not None
        assert client.attributes["http.request.method"] == "GET"
        assert client.attributes["http.response.status_code"] == 200
        assert client.attributes["server.address"] == "127.0.0.1"
        assert client.attributes["server.port"] == PORTS[str(client.attributes["bff.service"])]
    routes = {str(c.attributes["http.route"]) for c in clients if c.attributes}
    assert routes == {
        "/products",
        "/stock",
        "/reviews/summary",
        "/categories/{id}",
        "/reviews",
        "/users",
    }

    services = [s for s in finished if s.kind == SpanKind.SERVER and s is not server]
    assert len(services) == 6
    assert {parent_of(s, index) for s in services} == set(clients)


# A client writes its baggage as it likes: it goes on downstream only when allowed.
FORWARDING = pytest.mark.parametrize(
    ("env", "baggage"),
    [({}, None), ({"BFF_FORWARD_BAGGAGE": "true"}, "tenant=acme")],
    ids=["baggage dropped by default", "baggage forwarded when allowed"],
)
CALLER_TRACE = {
    "traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01",
    "tracestate": "vendor=opaque",
    "baggage": "tenant=acme",
}


@FORWARDING
async def test_an_incoming_trace_is_continued_and_passed_on(
    spans: tuple[TracerProvider, InMemorySpanExporter], env: dict[str, str], baggage: str | None
) -> None:
    provider, exporter = spans
    async with running_bff({**NO_CACHES, **env}, tracer_provider=provider) as bff:
        await bff.query(PRODUCT_PAGE.query, {"id": "p1"}, headers=CALLER_TRACE)
        received = [
            record.headers
            for service in bff.downstream.values()
            for record in service.stats.recent()
        ]

    finished = exporter.get_finished_spans()
    assert {format_trace_id(span.context.trace_id) for span in finished} == {TRACE_ID}
    (server,) = [s for s in finished if s.kind == SpanKind.SERVER]
    assert server.parent is not None
    assert format_span_id(server.parent.span_id) == PARENT_ID
    client_ids = {format_span_id(s.context.span_id) for s in finished if s.kind == SpanKind.CLIENT}
    assert len(received) == 6
    for headers in received:
        version, trace_id, span_id, flags = headers["traceparent"].split("-")
        assert (version, trace_id, flags) == ("00", TRACE_ID, "01")
        assert span_id in client_ids
        assert headers["tracestate"] == "vendor=opaque"
        assert headers.get("baggage") == baggage


@pytest.mark.e2e
@FORWARDING
async def test_a_sockets_trace_reaches_the_services_its_subscriptions_call(
    env: dict[str, str], baggage: str | None
) -> None:
    async with subscribable_bff(env) as stack:
        order_id = await stack.place_order("u1")
        async with stack.socket(headers=CALLER_TRACE) as socket:
            await socket.initialise("u1")
            await socket.subscribe("1", ORDER_STATUS.query, order_id)
            first = await socket.receive()
            await eventually(lambda: stack.streams_open() == 1)
        called = {
            request.route: request.headers
            for request in stack.demo["orders"].stats.recent()
            if request.route != "POST /orders"  # the test's own, placing the order
        }

    assert first["type"] == "next"
    assert sorted(called) == ["GET /orders/{id}", "GET /orders/{id}/events"]
    for headers in called.values():
        assert headers["traceparent"].split("-")[1] == TRACE_ID
        assert headers["tracestate"] == "vendor=opaque"
        assert headers.get("baggage") == baggage


async def test_the_callers_decision_not_to_sample_is_honoured() -> None:
    provider = tracer_provider(TracingSettings())  # the default sampler: parent-based
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    async with running_bff(NO_CACHES, tracer_provider=provider) as bff:
        reply = await bff.query(
            '{ product(id: "p1") { name } }',
            headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-00"},
        )
        forwarded = bff.demo["catalog"].stats.recent()[0].headers["traceparent"]

    assert "errors" not in reply.body
    assert exporter.get_finished_spans() == ()
    assert forwarded.startswith(f"00-{TRACE_ID}-")
    assert forwarded.endswith("-00")


async def test_concurrent_operations_keep_their_own_trees(
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = spans
    traces = [f"{n:032x}" for n in range(1, 11)]
    async with running_bff(NO_CACHES, tracer_provider=provider) as bff:
        await asyncio.gather(
            *(
                bff.query(
                    PRODUCT_PAGE.query,
                    {"id": f"p{100 + n}"},
                    headers={"traceparent": f"00-{trace}-{PARENT_ID}-01"},
                )
                for n, trace in enumerate(traces)
            )
        )

    finished = exporter.get_finished_spans()
    index = by_id(finished)
    assert {format_trace_id(span.context.trace_id) for span in finished} == set(traces)
    for span in finished:
        parent = parent_of(span, index)
        if parent is not None:
            assert parent.context.trace_id == span.context.trace_id
    for n, trace in enumerate(traces):
        in_trace = [s for s in finished if format_trace_id(s.context.trace_id) == trace]
        clients = [s for s in in_trace if s.kind == SpanKind.CLIENT]
        reviewed = bool(DATA.reviews_by_product[f"p{100 + n}"])
        assert len(clients) == (6 if reviewed else 5)  # authors are read only if there are reviews
        assert len([s for s in in_trace if s.name == "query ProductPage"]) == 1


async def test_the_recorded_document_has_no_literal_values(
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = spans
    async with running_bff(NO_CACHES, tracer_provider=provider) as bff:
        await bff.query(
            'query Lookup { user(id: "u1") { name } secret: product(id: "p77") { id } }'
        )

    (operation,) = [s for s in exporter.get_finished_spans() if s.name == "query Lookup"]
    assert operation.attributes is not None
    document = str(operation.attributes["graphql.document"])
    assert "u1" not in document
    assert "p77" not in document
    assert 'user(id: "")' in document


async def test_resolver_spans_only_when_asked_for(
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = spans
    async with running_bff(NO_CACHES, tracer_provider=provider) as bff:
        await bff.run(PRODUCT_PAGE, id="p1")
    quiet = [s.name for s in exporter.get_finished_spans() if s.name.startswith("resolve ")]
    exporter.clear()
    async with running_bff(
        {**NO_CACHES, "BFF_RESOLVER_SPANS": "true"}, tracer_provider=provider
    ) as bff:
        await bff.run(PRODUCT_PAGE, id="p1")
    loud = [s for s in exporter.get_finished_spans() if s.name.startswith("resolve ")]

    assert quiet == []
    assert "resolve Product.stock" in {s.name for s in loud}
    assert any(
        s.attributes and s.attributes["graphql.field.path"] == "product.reviews.0.author"
        for s in loud
    )


class _Collector(BaseHTTPRequestHandler):
    received: ClassVar[list[ExportTraceServiceRequest]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        type(self).received.append(request)
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


async def test_spans_are_exported_over_otlp_http_protobuf() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
    provider = tracer_provider(
        TracingSettings(exporter="otlp", traces_endpoint=endpoint, service_name="bff-test")
    )
    try:
        async with running_bff(NO_CACHES, tracer_provider=provider) as bff:
            await bff.run(PRODUCT_PAGE, id="p1")
        await asyncio.to_thread(provider.force_flush)
    finally:
        provider.shutdown()
        server.shutdown()
        server.server_close()

    names = [
        span.name
        for request in _Collector.received
        for resource_spans in request.resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
    ]
    services = {
        attribute.value.string_value
        for request in _Collector.received
        for resource_spans in request.resource_spans
        for attribute in resource_spans.resource.attributes
        if attribute.key == "service.name"
    }
    assert "query ProductPage" in names
    assert services == {"bff-test"}


async def test_batches_the_cache_answers_are_listed_not_spanned(
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = spans
    async with running_bff({"BFF_RESPONSE_CACHE": "false"}, tracer_provider=provider) as bff:
        await bff.run(PRODUCT_PAGE, id="p1")
        exporter.clear()
        await bff.run(PRODUCT_PAGE, id="p1")

    finished = exporter.get_finished_spans()
    index = by_id(finished)
    (operation,) = [s for s in finished if s.name == "query ProductPage"]
    loaders = [s for s in finished if s.name.startswith("loader ")]
    (client,) = [s for s in finished if s.kind == SpanKind.CLIENT]
    # Review authors are private to callers: the anonymous caller's are read again.
    assert [s.name for s in loaders] == ["loader users"]
    assert parent_of(client, index) is loaders[0]
    assert operation.attributes is not None
    cached = operation.attributes["bff.loader.cached_batches"]
    assert isinstance(cached, tuple | list)
    assert sorted(str(name) for name in cached) == [
        "categories",
        "products",
        "ratings",
        "reviews_by_product",
        "stock",
    ]
