"""Which `Accept` headers get `@defer` and `@stream` answers in parts (`bff.http.media`)."""

from __future__ import annotations

import pytest

from bff.http.media import accepts_multipart


@pytest.mark.parametrize(
    ("accept", "multipart"),
    [
        ("multipart/mixed;deferSpec=20220824,application/json", True),  # Apollo Client
        ("application/json, multipart/mixed", True),  # GraphiQL
        ('multipart/mixed; boundary="graphql"; deferSpec="20220824"', True),
        ("Multipart/Mixed;DeferSpec=20220824", True),
        ("multipart/mixed;deferSpec=20220824;q=0", False),
        ("multipart/mixed;deferSpec=20990101, application/json", False),
        ("multipart/mixed;subscriptionSpec=1.0", True),
        ("application/json", False),
        ("*/*", False),
        (None, False),
        ("", False),
    ],
)
def test_multipart_is_what_the_accept_header_lists(accept: str | None, multipart: bool) -> None:
    assert accepts_multipart(accept) is multipart
