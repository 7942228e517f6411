"""The HTTP edge decides a refused operation's status from its code and the media type."""

from __future__ import annotations

import pytest

from bff.execution.errors import Refusal
from bff.http.media import GRAPHQL_RESPONSE_JSON, JSON
from bff.http.statuses import status_of


def _refusal(code: str) -> Refusal:
    return Refusal(0, code, ({"message": "no"},), {}, 0)


@pytest.mark.parametrize(
    ("code", "modern", "legacy"),
    [
        ("GRAPHQL_PARSE_FAILED", 400, 200),
        ("GRAPHQL_VALIDATION_FAILED", 400, 200),
        ("OPERATION_LIMIT_EXCEEDED", 400, 200),
        ("OPERATION_RESOLUTION_FAILURE", 400, 200),
        ("BAD_USER_INPUT", 400, 200),
        ("BAD_REQUEST", 400, 200),
        ("PERSISTED_QUERY_HASH_MISMATCH", 400, 200),
        ("PERSISTED_QUERY_REQUIRED", 400, 200),
        ("PERSISTED_QUERY_NOT_FOUND", 200, 200),
        ("PERSISTED_QUERY_NOT_SUPPORTED", 200, 200),
        ("METHOD_NOT_ALLOWED", 405, 405),
        ("RATE_LIMITED", 429, 429),
        ("SERVICE_OVERLOADED", 503, 503),
    ],
)
def test_status_by_code_and_media(code: str, modern: int, legacy: int) -> None:
    # The refusal's own statuses (0 here) are not what decides.
    assert status_of(_refusal(code), GRAPHQL_RESPONSE_JSON) == modern
    assert status_of(_refusal(code), JSON) == legacy
