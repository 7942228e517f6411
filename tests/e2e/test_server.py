"""The BFF as a real server process over the demo services as real processes."""

from __future__ import annotations

import httpx
import pytest

from bff.contract.examples import PRODUCT_PAGE
from demo.launch import DemoProcess

pytestmark = pytest.mark.e2e


def test_reference_operation_over_real_sockets(own_bff_url: str, stack: DemoProcess) -> None:
    before = stack.calls()
    response = httpx.post(
        f"{own_bff_url}/graphql",
        json={"query": PRODUCT_PAGE.query, "variables": {"id": "p4242"}},
        headers={"x-request-id": "e2e-1"},
    )

    assert response.status_code == 200
    assert response.json()["data"]["product"]["id"] == "p4242"
    # A BFF of its own: neither of its caches knows anything yet.
    assert stack.calls() - before == 6
    forwarded = httpx.get(f"{stack.url('catalog')}/_demo/requests").json()["items"]
    assert any(entry["headers"].get("x-request-id") == "e2e-1" for entry in forwarded)


def test_readiness_and_liveness(bff_url: str) -> None:
    assert httpx.get(f"{bff_url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{bff_url}/readyz").status_code == 200
