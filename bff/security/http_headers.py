"""The HTTP edge's defences: security headers, CORS and CSRF prevention.

See docs/security.md, Production profile.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
SIMPLE_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")
PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name")
CORS_HEADERS = [
    "authorization",
    "content-type",
    "x-request-id",
    "x-bff-debug",
    "apollographql-client-name",
    "apollographql-client-version",
    "x-client-name",
    "x-client-version",
    "apollo-require-preflight",
    "x-apollo-operation-name",
    "traceparent",
    "tracestate",
    "baggage",
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, tls: bool) -> None:
        self.app = app
        self.tls = tls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(raw=list(message.get("headers", ())))
                html = headers.get("content-type", "").startswith("text/html")
                headers.setdefault("x-content-type-options", "nosniff")
                headers.setdefault("referrer-policy", "no-referrer")
                headers.setdefault("content-security-policy", PAGE_POLICY if html else API_POLICY)
                if self.tls:
                    headers.setdefault("strict-transport-security", "max-age=31536000")
                message = {**message, "headers": headers.raw}
            await send(message)

        await self.app(scope, receive, send_secured)


class _CORS(CORSMiddleware):
    """Starlette's CORS middleware, handed a copy of each message to add its headers to."""

    async def send(self, message: Message, send: Send, request_headers: Headers) -> None:
        copy = {**message, "headers": list(message.get("headers", ()))}
        await super().send(copy, send, request_headers)


def cors(origins: Sequence[str]) -> list[Middleware]:
    """The CORS middleware for the configured origins, or none at all."""
    if not origins:
        return []
    return [
        Middleware(
            _CORS,
            allow_origins=list(origins),
            allow_methods=["GET", "POST"],
            allow_headers=CORS_HEADERS,
            expose_headers=["x-request-id"],
            max_age=600,
        )
    ]


def looks_like_csrf(request: Request) -> bool:
    """Could a browser have sent this cross-site without asking first?"""
    if any(request.headers.get(name) for name in PREFLIGHT_HEADERS):
        return False
    content_type = request.headers.get("content-type")
    if content_type is None:
        return True
    return content_type.split(";")[0].strip().lower() in SIMPLE_CONTENT_TYPES
