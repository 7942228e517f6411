"""The HTTP status of a refused operation, decided here, at the edge, by its code.

GraphQL over HTTP: a request error (bad parameters, document or variables) is
a 400 for `application/graphql-response+json` callers and a 200 for legacy
`application/json` ones. Refusals that are not GraphQL's business keep their
status whatever the media type.
"""

from __future__ import annotations

from bff.execution.errors import Refusal
from bff.http.media import GRAPHQL_RESPONSE_JSON
from clients.errors import ErrorCode

REQUEST_ERROR = (400, 200)
"""A GraphQL request error: (graphql-response+json status, legacy JSON status)."""

STATUSES: dict[str, tuple[int, int]] = {
    ErrorCode.UNAUTHENTICATED: (401, 401),
    ErrorCode.METHOD_NOT_ALLOWED: (405, 405),
    ErrorCode.NOT_ACCEPTABLE: (406, 406),
    ErrorCode.REQUEST_TOO_LARGE: (413, 413),
    ErrorCode.RATE_LIMITED: (429, 429),
    ErrorCode.SERVICE_OVERLOADED: (503, 503),
    # 200 whatever the media type: Apollo's link treats other statuses as failures
    # and stops persisting.
    ErrorCode.PERSISTED_QUERY_NOT_FOUND: (200, 200),
    ErrorCode.PERSISTED_QUERY_NOT_SUPPORTED: (200, 200),
}
"""Codes whose status is not a request error's, by media type as `REQUEST_ERROR`."""


def status_of(refusal: Refusal, media: str) -> int:
    """The status a refused operation is answered with, for the negotiated media type."""
    modern, legacy = STATUSES.get(refusal.code, REQUEST_ERROR)
    return modern if media == GRAPHQL_RESPONSE_JSON else legacy
