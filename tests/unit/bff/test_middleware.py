"""The app's middleware passes each response's messages on without changing them.

A response may be sent more than once (GraphiQL's page once was), so what it
sends must come out of every middleware as it went in: one that edits the
headers sends a copy.
"""

from __future__ import annotations

import copy
import gzip
from collections.abc import Callable

import brotli
import pytest
from opentelemetry.sdk.trace import TracerProvider
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bff.http.compression import Compression
from bff.http.last_resort import LastResort
from bff.observability.tracing import TracingMiddleware
from bff.pipeline.lifecycle import CloseWhileDraining, Lifecycle
from bff.security.http_headers import SecurityHeaders, cors

PAGE = b"<!doctype html>" + b"<p>GraphiQL</p>" * 200
ORIGIN = "https://app.example"
DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "identity": bytes,
    "gzip": gzip.decompress,
    "br": brotli.decompress,
}


async def serve(app: ASGIApp, accept_encoding: str) -> list[Message]:
    """What `app` sends for a browser's GET /graphql."""
    scope: Scope = {
        "type": "http",
        "method": "GET",
        "path": "/graphql",
        "query_string": b"",
        "headers": [
            (b"accept", b"text/html"),
            (b"accept-encoding", accept_encoding.encode()),
            (b"origin", ORIGIN.encode()),
        ],
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


@pytest.mark.parametrize("encoding", list(DECODERS))
async def test_a_response_served_twice_through_compression_keeps_its_headers(
    encoding: str,
) -> None:
    response = HTMLResponse(PAGE)
    headers = list(response.raw_headers)
    app = Compression(response, min_bytes=1024)

    first = await serve(app, encoding)
    second = await serve(app, encoding)

    assert response.raw_headers == headers
    assert second == first
    start, body = first
    sent_headers = dict(start["headers"])
    assert int(sent_headers[b"content-length"]) == len(body["body"])
    assert sent_headers.get(b"content-encoding", b"identity") == encoding.encode()
    assert DECODERS[encoding](body["body"]) == PAGE


def _middleware() -> dict[str, Callable[[ASGIApp], ASGIApp]]:
    draining = Lifecycle()
    draining.drain()
    tracer = TracerProvider().get_tracer("tests")
    [allowed] = cors([ORIGIN])
    return {
        "last resort": LastResort,
        "compression": lambda app: Compression(app, min_bytes=1024),
        "security headers": lambda app: SecurityHeaders(app, tls=True),
        "close while draining": lambda app: CloseWhileDraining(app, draining),
        "tracing": lambda app: TracingMiddleware(
            app, tracer, frozenset({"/graphql"}), forward_baggage=False
        ),
        "cors": lambda app: allowed.cls(app, *allowed.args, **allowed.kwargs),
    }


@pytest.mark.parametrize("name", list(_middleware()))
async def test_middleware_leaves_the_messages_it_is_given_as_they_were(name: str) -> None:
    start: Message = {
        "type": "http.response.start",
        "status": 200,
        "headers": [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", str(len(PAGE)).encode()),
            (b"vary", b"Accept"),
        ],
    }
    body: Message = {"type": "http.response.body", "body": PAGE}
    given = copy.deepcopy([start, body])

    async def response(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start)
        await send(body)

    app = _middleware()[name](response)
    first = await serve(app, "gzip")
    second = await serve(app, "gzip")

    assert [start, body] == given
    assert second == first
