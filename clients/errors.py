"""Downstream failures, as the layers above the clients see them.

Every failure of a downstream call surfaces as exactly one of these, translated
from HTTP statuses and transport exceptions in one place (`clients.http`):

    DownstreamError        a call failed; names the service and a GraphQL code
    ├── NotFound           404: no such resource               NOT_FOUND
    ├── Rejected           400 / 422: the input was refused     BAD_USER_INPUT
    ├── Conflict           409: the current state forbids it    CONFLICT
    ├── Unavailable        refused connection, 5xx              DOWNSTREAM_UNAVAILABLE
    │   └── CircuitOpen    not even tried: the breaker is open   DOWNSTREAM_UNAVAILABLE
    ├── Timeout            no answer within the timeout, 504    DOWNSTREAM_TIMEOUT
    ├── BadResponse        an answer that breaks the contract   DOWNSTREAM_BAD_RESPONSE
    └── Overloaded         not even tried: the BFF holds all    SERVICE_OVERLOADED
                           the event streams it may

Messages are written for the frontend developer who reads them: they name the
service but never a URL, a host or a stack trace.
"""

from __future__ import annotations

from typing import ClassVar


class DownstreamError(Exception):
    """A downstream call failed."""

    code: ClassVar[str] = "DOWNSTREAM_ERROR"

    def __init__(self, service: str, message: str) -> None:
        super().__init__(message)
        self.service = service
        self.message = message


class NotFound(DownstreamError):
    code = "NOT_FOUND"


class Rejected(DownstreamError):
    code = "BAD_USER_INPUT"


class Conflict(DownstreamError):
    code = "CONFLICT"


class Unavailable(DownstreamError):
    code = "DOWNSTREAM_UNAVAILABLE"


class CircuitOpen(Unavailable):
    """The service failed so often lately that it is not being called for a while."""


class Timeout(DownstreamError):
    code = "DOWNSTREAM_TIMEOUT"


class BadResponse(DownstreamError):
    code = "DOWNSTREAM_BAD_RESPONSE"


class Overloaded(DownstreamError):
    """Not even tried: the process already holds as many event streams as it may."""

    code = "SERVICE_OVERLOADED"
