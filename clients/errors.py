"""Downstream failures, as the layers above the clients see them.

Every failure of a downstream call surfaces as exactly one of these, translated
in one place (`clients.http`); messages never name a URL or a host.
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
