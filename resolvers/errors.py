"""Errors the caller caused, raised by resolvers before any downstream call.

Their messages are written for the frontend developer and are always safe to
show.
"""

from __future__ import annotations

from typing import ClassVar


class RequestError(Exception):
    code: ClassVar[str] = "BAD_REQUEST"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadUserInput(RequestError):
    code = "BAD_USER_INPUT"


class Unauthenticated(RequestError):
    code = "UNAUTHENTICATED"


class Forbidden(RequestError):
    code = "FORBIDDEN"


class FeatureDisabled(RequestError):
    """The field sits behind a feature flag that is off for this caller."""

    code = "FEATURE_DISABLED"
