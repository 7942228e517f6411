"""The BFF's error taxonomy: every `extensions.code` it sends, and the exceptions that carry them.

It lives in the lowest layer so that every layer that raises imports the same
tree; downstream failures are translated in one place (`clients.http`). The
tree and its codes: docs/errors.md.
"""

from __future__ import annotations

from enum import StrEnum, unique


@unique
class ErrorCode(StrEnum):
    """Every `extensions.code` the BFF sends; the README's error table lists the same."""

    NOT_FOUND = "NOT_FOUND"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    FEATURE_DISABLED = "FEATURE_DISABLED"
    OPERATION_LIMIT_EXCEEDED = "OPERATION_LIMIT_EXCEEDED"
    REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
    BATCH_LIMIT_EXCEEDED = "BATCH_LIMIT_EXCEEDED"
    RATE_LIMITED = "RATE_LIMITED"
    CONFLICT = "CONFLICT"
    DOWNSTREAM_ERROR = "DOWNSTREAM_ERROR"
    DOWNSTREAM_UNAVAILABLE = "DOWNSTREAM_UNAVAILABLE"
    DOWNSTREAM_TIMEOUT = "DOWNSTREAM_TIMEOUT"
    DOWNSTREAM_BAD_RESPONSE = "DOWNSTREAM_BAD_RESPONSE"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    OPERATION_RESOLUTION_FAILURE = "OPERATION_RESOLUTION_FAILURE"
    BAD_REQUEST = "BAD_REQUEST"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    NOT_ACCEPTABLE = "NOT_ACCEPTABLE"
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PERSISTED_QUERY_NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
    PERSISTED_QUERY_HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
    PERSISTED_QUERY_REQUIRED = "PERSISTED_QUERY_REQUIRED"
    SERVICE_OVERLOADED = "SERVICE_OVERLOADED"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
    SUBSCRIPTION_LIMIT_EXCEEDED = "SUBSCRIPTION_LIMIT_EXCEEDED"


class BffError(Exception):
    """A failure with a code and a message written for the frontend developer, safe to show."""

    code: ErrorCode

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DownstreamError(BffError):
    """A downstream call failed."""

    code = ErrorCode.DOWNSTREAM_ERROR

    def __init__(self, service: str, message: str) -> None:
        super().__init__(message)
        self.service = service


class NotFound(DownstreamError):
    code = ErrorCode.NOT_FOUND


class Rejected(DownstreamError):
    code = ErrorCode.BAD_USER_INPUT


class Conflict(DownstreamError):
    code = ErrorCode.CONFLICT


class Unavailable(DownstreamError):
    code = ErrorCode.DOWNSTREAM_UNAVAILABLE


class CircuitOpen(Unavailable):
    """The service failed so often lately that it is not being called for a while."""


class Timeout(DownstreamError):
    code = ErrorCode.DOWNSTREAM_TIMEOUT


class BadResponse(DownstreamError):
    code = ErrorCode.DOWNSTREAM_BAD_RESPONSE


class Overloaded(DownstreamError):
    """Not even tried: the process already holds as many event streams as it may."""

    code = ErrorCode.SERVICE_OVERLOADED


class RequestError(BffError):
    """The caller's request cannot be served as asked; raised before any downstream call."""

    code = ErrorCode.BAD_REQUEST


class BadUserInput(RequestError):
    code = ErrorCode.BAD_USER_INPUT


class Unauthenticated(RequestError):
    code = ErrorCode.UNAUTHENTICATED


class Forbidden(RequestError):
    code = ErrorCode.FORBIDDEN


class FeatureDisabled(RequestError):
    """The field sits behind a feature flag that is off for this caller."""

    code = ErrorCode.FEATURE_DISABLED
