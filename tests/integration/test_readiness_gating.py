"""Which downstream services gate readiness: all in the demo, none in production."""

from __future__ import annotations

import httpx
import pytest

from demo.launch import free_port
from tests.harness import running_bff


def _stopped() -> httpx.AsyncHTTPTransport:
    """A transport to a port nothing listens on: a service that is down."""
    return httpx.AsyncHTTPTransport()


@pytest.mark.parametrize(
    ("gating", "status"),
    [("all", 503), ("inventory", 503), ("catalog,reviews", 200), ("none", 200)],
)
async def test_a_down_service_blocks_readiness_only_if_it_gates_it(
    gating: str, status: int
) -> None:
    env = {
        "BFF_READINESS_SERVICES": gating,
        "BFF_INVENTORY_URL": f"http://127.0.0.1:{free_port()}",
    }
    async with running_bff(env, transports={"inventory": _stopped()}) as bff:
        answer = await bff.http.get("/readyz")

    assert answer.status_code == status
    assert answer.json()["services"]["inventory"] == "down"
    assert answer.json()["down"] == ["inventory"]


async def test_production_gates_on_no_service_by_default() -> None:
    env = {"BFF_PROFILE": "production", "BFF_INVENTORY_URL": f"http://127.0.0.1:{free_port()}"}
    async with running_bff(env, transports={"inventory": _stopped()}) as bff:
        answer = await bff.http.get("/readyz")

    assert answer.status_code == 200
    assert answer.json()["status"] == "ready"


def test_unknown_services_are_refused() -> None:
    from bff.config.settings import Settings, SettingsError

    with pytest.raises(SettingsError, match="unknown service invntory"):
        Settings.from_environ({"BFF_READINESS_SERVICES": "invntory"})
