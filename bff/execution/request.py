"""Reading the HTTP request: the GraphQL request it carries, and who sends it.

Anything malformed is a `RequestFailure` with a GraphQL error body.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

import orjson
from graphql import GraphQLError
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection, Request
from starlette.types import Scope

from bff.execution.errors import RequestFailure
from bff.observability.metrics import UNKNOWN
from clients.errors import ErrorCode

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
REQUEST_ID_KEY = "bff.request_id"
"""Where a request's id is kept in its ASGI scope, once `bff.http.last_resort` has given it."""
# No "@": a client name that looks like an address must not become a metric label.
_LABEL = re.compile(r"[A-Za-z0-9._:/+-]{1,64}")


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    """The request's parameters; `query` may be absent when a persisted id stands in."""

    query: str | None
    variables: Mapping[str, object] | None
    operation_name: str | None
    extensions: Mapping[str, object] | None = None
    document_id: str | None = None


async def read_request(request: Request, max_bytes: int) -> GraphQLRequest:
    """The GraphQL request a GET query string or a JSON POST body carries.

    A body (or query string) over `max_bytes` is refused before it is read
    further, let alone parsed.
    """
    if request.method == "GET":
        if len(request.scope["query_string"]) > max_bytes:
            raise _too_large(max_bytes)
        params = request.query_params
        fields: Mapping[str, object] = {
            "query": params.get("query"),
            "operationName": params.get("operationName"),
            "variables": _json_param(params.get("variables"), "variables"),
            "extensions": _json_param(params.get("extensions"), "extensions"),
            "documentId": params.get("documentId"),
        }
    elif request.method == "POST":
        content_type = request.headers.get("content-type", "")
        if "json" not in content_type.split(";")[0]:
            raise failure(
                415,
                ErrorCode.BAD_REQUEST,
                "Send the request as JSON (Content-Type: application/json).",
            )
        body = await _body(request, max_bytes)
        if not body:
            raise failure(
                400, ErrorCode.BAD_REQUEST, "The request body is empty; send a JSON object."
            )
        try:
            decoded = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            # Not JSON is not a GraphQL request at all: 400 whatever the Accept
            # (GraphQL over HTTP, for both media types).
            raise failure(
                400,
                ErrorCode.BAD_REQUEST,
                f"The request body is not valid JSON: {error}.",
                legacy_status=400,
            ) from None
        if not isinstance(decoded, dict):
            raise failure(
                400,
                ErrorCode.BAD_REQUEST,
                "The request body must be a JSON object (batches are not served).",
            )
        fields = decoded
    else:
        raise failure(
            405,
            ErrorCode.METHOD_NOT_ALLOWED,
            "Send GraphQL requests by GET or POST.",
            headers={"allow": "GET, POST"},
        )
    return _validated(fields)


async def _body(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(max_bytes: int) -> RequestFailure:
    error = GraphQLError(
        f"The request is larger than {max_bytes} bytes, over the limit (set by "
        "BFF_MAX_BODY_BYTES).",
        extensions={"limit": "body bytes", "maximum": max_bytes},
    )
    return RequestFailure(413, ErrorCode.REQUEST_TOO_LARGE, [error])


def _validated(fields: Mapping[str, object]) -> GraphQLRequest:
    query = fields.get("query")
    if query is not None and not isinstance(query, str):
        raise failure(400, ErrorCode.BAD_REQUEST, "`query` must be a string.")
    operation_name = fields.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise failure(400, ErrorCode.BAD_REQUEST, "`operationName` must be a string or null.")
    variables = fields.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise failure(400, ErrorCode.BAD_REQUEST, "`variables` must be a JSON object or null.")
    extensions = fields.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise failure(400, ErrorCode.BAD_REQUEST, "`extensions` must be a JSON object or null.")
    document_id = fields.get("documentId")
    if document_id is not None and not (isinstance(document_id, str) and document_id):
        raise failure(400, ErrorCode.BAD_REQUEST, "`documentId` must be a non-empty string.")
    persisted = extensions is not None and "persistedQuery" in extensions
    if (query is None or not query.strip()) and not persisted and document_id is None:
        raise failure(400, ErrorCode.BAD_REQUEST, "The request has no `query` string.")
    return GraphQLRequest(query or None, variables, operation_name or None, extensions, document_id)


def _json_param(raw: str | None, name: str) -> object:
    if raw is None or raw == "":
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise failure(
            400, ErrorCode.BAD_REQUEST, f"The `{name}` parameter is not valid JSON."
        ) from None


def failure(
    status: int,
    code: ErrorCode | str,
    message: str,
    headers: Mapping[str, str] | None = None,
    *,
    legacy_status: int | None = None,
) -> RequestFailure:
    """A request that cannot run, with one GraphQL error saying why."""
    return RequestFailure(
        status, code, [GraphQLError(message)], headers, legacy_status=legacy_status
    )


def client_of(request: HTTPConnection) -> tuple[str, str]:
    """The calling app's name and version, as Apollo's and generic headers give them."""
    headers = request.headers
    name = headers.get("apollographql-client-name") or headers.get("x-client-name")
    version = headers.get("apollographql-client-version") or headers.get("x-client-version")
    return _label(name), _label(version)


def _label(value: str | None) -> str:
    if not value or not _LABEL.fullmatch(value):
        return UNKNOWN
    return value


def client_id_of(request: HTTPConnection) -> str | None:
    """An anonymous caller's stable id (`X-Client-Id`, set once per install), when well-formed."""
    given = request.headers.get("x-client-id")
    return given if given is not None and _REQUEST_ID.fullmatch(given) else None


def request_id_of(request: HTTPConnection) -> str:
    """The request's id (`request_id_for`)."""
    return request_id_for(request.scope)


def request_id_for(scope: Scope) -> str:
    """The id given to the request already, else the caller's `X-Request-Id` when
    well-formed, else a fresh one."""
    given = scope.get(REQUEST_ID_KEY)
    if isinstance(given, str):
        return given
    sent = Headers(scope=scope).get("x-request-id")
    if sent is not None and _REQUEST_ID.fullmatch(sent):
        return sent
    return os.urandom(16).hex()
