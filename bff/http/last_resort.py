"""The error path of the HTTP edge: every refusal and every failure answered in JSON.

`LastResort`, the outermost middleware, gives each request its id and answers
an exception that escapes the app with a 500 built from constants.
"""

from __future__ import annotations

import logging

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bff.execution.request import REQUEST_ID_KEY, request_id_for, request_id_of
from clients.errors import ErrorCode

_CODES = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.METHOD_NOT_ALLOWED}

logger = logging.getLogger("bff.execution.errors")


class LastResort:
    """ASGI middleware answering an uncaught exception with a JSON 500."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self._app(scope, receive, send)
            return
        request_id = scope[REQUEST_ID_KEY] = request_id_for(scope)
        if scope["type"] == "websocket":
            await self._app(scope, receive, send)
            return
        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self._app(scope, receive, send_tracked)
        except Exception:
            logger.exception(
                "unhandled error answering %s %s (request %s)",
                scope.get("method"),
                scope.get("path"),
                request_id,
            )
            if not started:
                await _internal_error(send, request_id)


async def _internal_error(send: Send, request_id: str) -> None:
    body = orjson.dumps(
        {
            "errors": [
                {
                    "message": "Internal server error",
                    "extensions": {
                        "code": ErrorCode.INTERNAL_SERVER_ERROR,
                        "requestId": request_id,
                    },
                }
            ]
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                (b"x-content-type-options", b"nosniff"),
                (b"x-request-id", request_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def http_error(request: Request, refused: Exception) -> Response:
    """Starlette's own refusals (no such route, a method it does not take), as GraphQL errors."""
    assert isinstance(refused, HTTPException)
    status = refused.status_code
    message = "Nothing is served here; GraphQL is at /graphql." if status == 404 else refused.detail
    body = {
        "errors": [
            {"message": message, "extensions": {"code": _CODES.get(status, ErrorCode.BAD_REQUEST)}}
        ]
    }
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type="application/json",
        headers={"x-request-id": request_id_of(request), **(refused.headers or {})},
    )
