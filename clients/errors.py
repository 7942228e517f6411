"""The BFF's error taxonomy: every `extensions.code` it sends, and the exceptions that carry them.

It lives in the lowest layer so that every layer that raises (clients,
resolvers, schema, bff) imports the same tree:

    BffError                  a failure whose message is written to be shown
    ├── DownstreamError       a downstream call failed; names the service
    │   ├── NotFound          404: no such resource                 NOT_FOUND
    │   ├── Rejected          400 / 422: the input was refused       BAD_USER_INPUT
    │   ├── Conflict          409: the current state forbids it      CONFLICT
    │   ├── Unavailable       refused connection, 5xx                DOWNSTREAM_UNAVAILABLE
    │   │   └── CircuitOpen   not even tried: the breaker is open    DOWNSTREAM_UNAVAILABLE
    │   ├── Timeout           no answer within the timeout, 504      DOWNSTREAM_TIMEOUT
    │   ├── BadResponse       an answer that breaks the contract     DOWNSTREAM_BAD_RESPONSE
    │   └── Overloaded        not even tried: all event streams held SERVICE_OVERLOADED
    ├── RequestError          the caller asked for what cannot be served   BAD_REQUEST
    │   ├── BadUserInput      an argument is out of range or malformed     BAD_USER_INPUT
    │   ├── Unauthenticated   the field needs a signed-in caller           UNAUTHENTICATED
    │   ├── Forbidden         the caller may not see or do this            FORBIDDEN
    │   └── FeatureDisabled   a feature flag is off for this caller        FEATURE_DISABLED
    └── RequestFailure        the request cannot run at all (any code)
                              (`bff.execution.errors`: it carries GraphQL errors,
                              which the clients may not import)

Downstream failures are translated from HTTP statuses and transport exceptions
in one place (`clients.http`); request errors are raised by resolvers before
any downstream call. Messages name a service but never a URL, a host or a
stack trace.
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
