"""Requests generated from the schema, valid and broken, always get GraphQL's JSON, never a 5xx.

The examples are derandomized: Hypothesis seeds them from the test's source,
so the same tests send the same requests on every run, here and in CI, and a
change elsewhere never fails this test by the luck of a new draw. (Hypothesis
also mixes in constants of the project's modules loaded so far, so running
this file alone may send a few requests the full suite does not.) A failure
prints a `@reproduce_failure` blob that replays it exactly. Searching further
is a deliberate act: raise `EXAMPLES`, or drop `derandomize` for a run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest
from hypothesis import HealthCheck, Phase, given, settings

from tests.generated_requests import Sent, requests
from tests.harness import Clock, Harness, Json, running_bff

EXAMPLES = 200
"""Requests per profile: enough that the fixed set meets each crash found so far (a cost
past 2**64, a fragment cycle through a field, a token header outside Latin-1)."""
PROFILES = {
    "demo": {"BFF_PROFILE": "demo"},
    # Production trusts no identity provider by default: the demo's signs the
    # generated callers' tokens.
    "production": {
        "BFF_PROFILE": "production",
        "BFF_AUTH_JWKS_URL": "http://127.0.0.1:8107/.well-known/jwks.json",
        "BFF_AUTH_ISSUER": "bff-demo-identity",
    },
}
REFILL_S = 60.0
"""Fake seconds between requests: production's rate-limit bucket is full again each time."""
MEDIA_TYPES = ("application/json", "application/graphql-response+json")


class Target:
    """A BFF in one profile, and the fake clock its rate limits run on."""

    def __init__(self, profile: str, bff: Harness, clock: Clock) -> None:
        self.profile = profile
        self.bff = bff
        self.clock = clock

    def __repr__(self) -> str:
        # What Hypothesis prints beside a failing example.
        return f"<the BFF in the {self.profile} profile>"


@pytest.fixture(params=sorted(PROFILES))
async def target(request: pytest.FixtureRequest) -> AsyncIterator[Target]:
    clock = Clock()
    async with running_bff(PROFILES[request.param], clock=clock) as bff:
        yield Target(request.param, bff, clock)


# One BFF serves all of a profile's examples on purpose, as a long-running
# server would: each request meets the caches and orders earlier ones left. A
# BFF per example would cost more than the requests themselves.
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    # The failing example, shrunk, is the report; the explanation phase would run it
    # again many times to annotate lines, which costs more than it tells here.
    phases=[phase for phase in Phase if phase != Phase.explain],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    # Shrinking every distinct failure at once takes minutes; one at a time takes one.
    report_multiple_bugs=False,
    print_blob=True,
)
@given(sent=requests())
async def test_every_answer_is_graphql_json(target: Target, sent: Sent) -> None:
    target.clock.now += REFILL_S
    try:
        response = await sent.to(target.bff.http)
    except Exception as crash:
        raise AssertionError(
            f"the BFF crashed (a client gets a plain-text 500): {crash!r}"
        ) from crash

    assert response.status_code < 500, response.text
    assert response.headers["content-type"].split(";")[0] in MEDIA_TYPES, response.headers
    body = orjson.loads(response.content)
    assert_graphql_shaped(body)


def assert_graphql_shaped(body: Json) -> None:
    """`data` or `errors`, and every error with a message and a code."""
    assert isinstance(body, dict), body
    errors = body.get("errors", [])
    assert isinstance(errors, list), body
    assert "data" in body or errors, body
    for error in errors:
        assert isinstance(error, dict), body
        assert isinstance(error.get("message"), str), error
        extensions = error.get("extensions")
        assert isinstance(extensions, dict), error
        assert isinstance(extensions.get("code"), str), error
