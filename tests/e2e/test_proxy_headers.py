"""Only `BFF_TRUSTED_PROXIES` decides whose `X-Forwarded-For` is believed, even from loopback."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from demo.launch import DemoProcess
from tests.e2e.conftest import serving_bff

pytestmark = pytest.mark.e2e

ONE_REQUEST_EACH = {
    "BFF_WORKERS": "1",
    "BFF_RATE_LIMIT": "true",
    "BFF_RATE_LIMIT_COST": "request",
    "BFF_RATE_LIMIT_CAPACITY": "2",
    "BFF_RATE_LIMIT_REFILL_PER_S": "1",
}


def test_a_forwarded_address_from_an_untrusted_peer_is_not_believed(
    stack: DemoProcess, tmp_path: Path
) -> None:
    with serving_bff(stack, tmp_path / "bff.log", **ONE_REQUEST_EACH) as url:
        statuses = [
            httpx.post(
                f"{url}/graphql",
                json={"query": "{ __typename }"},
                headers={"x-forwarded-for": f"203.0.113.{n}"},
            ).status_code
            for n in range(1, 11)
        ]

    # Ten addresses claimed, one peer seen: its bucket of two runs dry (a refill of one
    # request a second cannot keep up with ten sent back to back).
    assert statuses[:2] == [200, 200]
    assert 429 in statuses
