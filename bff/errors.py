"""How errors reach clients: a message, a path and an `extensions.code`.

Known errors (`clients.errors.DownstreamError`, `resolvers.errors.RequestError`)
keep their message, which is written to be shown. Anything else is a bug: it is
logged with its traceback and masked as INTERNAL_SERVER_ERROR, carrying the
request id so the frontend developer can hand it to ops.
"""

from __future__ import annotations

import logging

from graphql import GraphQLError

from clients.errors import DownstreamError
from resolvers.errors import RequestError

logger = logging.getLogger("bff.errors")

JsonDict = dict[str, object]


def request_error(error: GraphQLError, code: str) -> JsonDict:
    """An error that stopped the request before any field ran (parse, validation, variables).

    graphql-core writes these messages for the client; they quote only the document
    and the variables the client sent.
    """
    formatted = _located(error)
    formatted["extensions"] = {"code": code, **(error.extensions or {})}
    return formatted


def format_error(error: GraphQLError, *, default_code: str, request_id: str) -> JsonDict:
    """The client-facing form of one error raised while fields ran."""
    formatted = _located(error)
    original = error.original_error
    extensions: JsonDict
    if original is None:
        extensions = {"code": default_code}
    elif isinstance(original, DownstreamError):
        formatted["message"] = original.message
        extensions = {"code": original.code, "service": original.service}
    elif isinstance(original, RequestError):
        formatted["message"] = original.message
        extensions = {"code": original.code}
    else:
        logger.error(
            "unexpected error at %s (request %s)",
            ".".join(str(key) for key in error.path or ()),
            request_id,
            exc_info=original,
        )
        formatted["message"] = "Internal server error"
        extensions = {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
    formatted["extensions"] = extensions
    return formatted


def _located(error: GraphQLError) -> JsonDict:
    formatted: JsonDict = {"message": error.message}
    if error.locations:
        formatted["locations"] = [
            {"line": location.line, "column": location.column} for location in error.locations
        ]
    if error.path is not None:
        formatted["path"] = list(error.path)
    return formatted
