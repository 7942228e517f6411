"""Rate limits per caller: in-process, and shared by replicas through a real Redis."""

from __future__ import annotations

import uuid

import pytest

from bff.contract.examples import CATEGORY_LISTING
from bff.security.rate_limit import client_address, trusted_networks
from tests.harness import running_bff, signed_in

LIMITED = {
    "BFF_RATE_LIMIT": "true",
    "BFF_RATE_LIMIT_CAPACITY": "2000",
    "BFF_RATE_LIMIT_REFILL_PER_S": "1",
    "BFF_RESPONSE_CACHE": "false",
}
LISTING = {"query": CATEGORY_LISTING.query, "variables": {"category": "c1"}}  # costs 1,301


async def test_a_caller_over_budget_is_told_when_to_come_back() -> None:
    ada, bob = signed_in("u1"), signed_in("u2")
    async with running_bff(LIMITED) as bff:
        first = await bff.http.post("/graphql", json=LISTING, headers=ada)
        second = await bff.http.post("/graphql", json=LISTING, headers=ada)
        other = await bff.http.post("/graphql", json=LISTING, headers=bob)
        calls = bff.calls()

    assert first.status_code == 200
    assert second.status_code == 429
    assert int(second.headers["retry-after"]) >= 600  # 1,301 - 699 left, at 1 a second
    error = second.json()["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["message"].startswith("Too many requests: try again in ")
    assert other.status_code == 200
    # Ada's listing read six times, Bob's only his private review authors again;
    # the refused request reached no service.
    assert calls == 6 + 1


async def test_a_request_can_cost_one_instead_of_its_estimate() -> None:
    env = {**LIMITED, "BFF_RATE_LIMIT_CAPACITY": "3", "BFF_RATE_LIMIT_COST": "request"}
    async with running_bff(env) as bff:
        statuses = [
            (await bff.http.post("/graphql", json=LISTING, headers=signed_in("u3"))).status_code
            for _ in range(4)
        ]

    assert statuses == [200, 200, 200, 429]


async def test_anonymous_callers_share_their_address_and_proxies_are_believed_when_trusted() -> (
    None
):
    trusting = {**LIMITED, "BFF_TRUSTED_PROXIES": "127.0.0.0/8"}
    async with running_bff(trusting) as bff:
        one = await bff.http.post(
            "/graphql", json=LISTING, headers={"X-Forwarded-For": "203.0.113.5"}
        )
        two = await bff.http.post(
            "/graphql", json=LISTING, headers={"X-Forwarded-For": "203.0.113.6"}
        )
        one_again = await bff.http.post(
            "/graphql", json=LISTING, headers={"X-Forwarded-For": "203.0.113.5"}
        )
    async with running_bff(LIMITED) as bff:
        spoofed = [
            await bff.http.post("/graphql", json=LISTING, headers={"X-Forwarded-For": address})
            for address in ("203.0.113.5", "203.0.113.6")
        ]

    assert [one.status_code, two.status_code, one_again.status_code] == [200, 200, 429]
    # Untrusted peers cannot pick a fresh bucket by sending another X-Forwarded-For.
    assert [response.status_code for response in spoofed] == [200, 429]


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("10.0.0.2", "198.51.100.7", "198.51.100.7"),
        ("10.0.0.2", "198.51.100.7, 10.0.0.9", "198.51.100.7"),
        ("10.0.0.2", "6.6.6.6, 198.51.100.7", "198.51.100.7"),
        ("192.0.2.1", "198.51.100.7", "192.0.2.1"),
        ("10.0.0.2", None, "10.0.0.2"),
        ("10.0.0.2", "not-an-ip", "not-an-ip"),
    ],
)
def test_the_client_address_skips_only_trusted_proxies(
    peer: str, forwarded: str | None, expected: str
) -> None:
    assert client_address(peer, forwarded, trusted_networks(["10.0.0.0/8"])) == expected


async def test_replicas_share_one_budget_in_redis() -> None:
    shared = {**LIMITED, "BFF_REDIS_URL": "redis://127.0.0.1:6379/0"}
    caller = signed_in(f"user-{uuid.uuid4().hex[:12]}")
    async with running_bff(shared) as first, running_bff(shared) as second:
        spent = await first.http.post("/graphql", json=LISTING, headers=caller)
        refused = await second.http.post("/graphql", json=LISTING, headers=caller)
        refused_too = await first.http.post("/graphql", json=LISTING, headers=caller)

    assert spent.status_code == 200
    assert refused.status_code == 429
    assert refused_too.status_code == 429
    assert second.calls() == 0


async def test_requests_go_through_when_redis_is_down() -> None:
    down = {**LIMITED, "BFF_REDIS_URL": "redis://127.0.0.1:1/0"}
    async with running_bff(down) as bff:
        statuses = [
            (await bff.http.post("/graphql", json=LISTING, headers=signed_in("u4"))).status_code
            for _ in range(2)
        ]

    assert statuses == [200, 200]
