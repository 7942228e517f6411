"""How errors reach clients: a message, a path and an `extensions.code`.

Known errors (`clients.errors.BffError`) keep their message; anything else is
logged and masked as INTERNAL_SERVER_ERROR with the request id (docs/errors.md).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from graphql import GraphQLError

from clients.errors import BffError, DownstreamError, ErrorCode

logger = logging.getLogger("bff.execution.errors")

JsonDict = dict[str, object]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request cannot run, as sent: statuses, code, formatted errors, headers.

    It keeps no reference to the document it refused, so a refusal can be
    cached for the price of its messages.
    """

    status: int
    """What `application/graphql-response+json` callers get."""
    code: str
    """An `ErrorCode`'s value, as sent."""
    errors: tuple[JsonDict, ...]
    headers: Mapping[str, str]
    legacy_status: int
    """What legacy `application/json` callers get."""


class RequestFailure(BffError):
    """The request cannot run at all: raised with its `Refusal`.

    The one branch of the `clients.errors` tree defined here: it carries GraphQL
    errors, which the clients may not import. Its code is the refusal's.

    A 400 is a GraphQL request error (bad JSON, parameters, document or
    variables), which legacy `application/json` callers get as a 200, as
    GraphQL over HTTP asks; `legacy_status` overrides that for refusals that
    are not GraphQL's business.
    """

    def __init__(
        self,
        status: int,
        code: ErrorCode | str,
        errors: Sequence[GraphQLError],
        headers: Mapping[str, str] | None = None,
        *,
        legacy_status: int | None = None,
    ) -> None:
        code = ErrorCode(code)  # a string that names no code is a bug, found here
        if legacy_status is None:
            legacy_status = 200 if status == 400 else status
        self.refusal = Refusal(
            status,
            code.value,
            tuple(request_error(error, code) for error in errors),
            dict(headers or {}),
            legacy_status,
        )
        super().__init__(errors[0].message)
        self.code = code

    @classmethod
    def again(cls, refusal: Refusal) -> RequestFailure:
        """A new exception for a kept refusal: one raised twice would grow its traceback."""
        failure = cls.__new__(cls)
        failure.refusal = refusal
        message = refusal.errors[0].get("message")
        BffError.__init__(failure, message if isinstance(message, str) else "")
        failure.code = ErrorCode(refusal.code)
        return failure


def request_error(error: GraphQLError, code: ErrorCode | str) -> JsonDict:
    """An error that stopped the request before any field ran (parse, validation, variables).

    graphql-core writes these messages for the client; they quote only the document
    and the variables the client sent.
    """
    formatted = _located(error)
    formatted["extensions"] = {"code": ErrorCode(code).value, **(error.extensions or {})}
    return formatted


def format_error(
    error: GraphQLError, *, default_code: ErrorCode | str, request_id: str
) -> JsonDict:
    """The client-facing form of one error raised while fields ran."""
    formatted = _located(error)
    original = error.original_error
    extensions: JsonDict
    if original is None:
        extensions = {"code": ErrorCode(default_code).value}
    elif isinstance(original, BffError):
        formatted["message"] = original.message
        extensions = {"code": original.code.value}
        if isinstance(original, DownstreamError):
            extensions["service"] = original.service
    else:
        logger.error(
            "unexpected error at %s (request %s)",
            ".".join(str(key) for key in error.path or ()),
            request_id,
            exc_info=original,
        )
        formatted["message"] = "Internal server error"
        extensions = {"code": ErrorCode.INTERNAL_SERVER_ERROR.value, "requestId": request_id}
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
