"""Reading the HTTP request: the GraphQL request it carries.

GET carries the request in its query string, POST in a JSON body. Anything
else, or a body over the size limit (refused before it is read further), is a
`RequestFailure` with a GraphQL error body, never plain text; the statuses
here are the HTTP edge's own.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from graphql import GraphQLError
from starlette.requests import Request

from bff.execution.errors import RequestFailure
from bff.execution.request import GraphQLRequest, failure
from clients.errors import ErrorCode

Entry = GraphQLRequest | RequestFailure
"""One operation of a batch: its request, or why it is not one (answered in its slot)."""


async def read_request(
    request: Request, max_bytes: int, batch_max: int = 0
) -> GraphQLRequest | list[Entry]:
    """The GraphQL request a GET query string or a JSON POST body carries.

    A body (or query string) over `max_bytes` is refused before it is read
    further, let alone parsed. A POST body that is a JSON array is a batch: its
    entries, when `batch_max` allows that many (0 refuses every batch).
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
        if isinstance(decoded, list):
            return _batch(decoded, batch_max)
        if not isinstance(decoded, dict):
            raise failure(400, ErrorCode.BAD_REQUEST, "The request body must be a JSON object.")
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


def _batch(decoded: list[object], batch_max: int) -> list[Entry]:
    """A batch's entries; the batch is refused whole when batching is off, or it is
    empty or over `batch_max`, with 400 whatever the media type: its body is not the
    array a batching client reads."""
    if batch_max == 0:
        raise failure(
            400,
            ErrorCode.BAD_REQUEST,
            "Batches are not served: send one operation as a JSON object, or turn batching "
            "on with BFF_BATCH_MAX (the most operations one batch may hold).",
            legacy_status=400,
        )
    if not decoded:
        raise failure(
            400, ErrorCode.BAD_REQUEST, "The batch holds no operations.", legacy_status=400
        )
    if len(decoded) > batch_max:
        error = GraphQLError(
            f"The batch holds {len(decoded)} operations, over the limit of {batch_max} (set by "
            "BFF_BATCH_MAX): send fewer in one request.",
            extensions={"limit": "batch size", "measured": len(decoded), "maximum": batch_max},
        )
        raise RequestFailure(400, ErrorCode.BATCH_LIMIT_EXCEEDED, [error], legacy_status=400)
    return [_entry(fields) for fields in decoded]


def _entry(fields: object) -> Entry:
    """One entry of a batch; a malformed one is refused in its own slot."""
    if not isinstance(fields, dict):
        return failure(
            400, ErrorCode.BAD_REQUEST, "Each operation of a batch must be a JSON object."
        )
    try:
        return _validated(fields)
    except RequestFailure as failed:
        return failed


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
