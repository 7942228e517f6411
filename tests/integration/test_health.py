from __future__ import annotations

from demo.launch import free_port
from tests.harness import Harness, running_bff


async def test_healthz_answers_while_the_process_lives(bff: Harness) -> None:
    response = await bff.http.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ready_when_every_service_answers(bff: Harness) -> None:
    response = await bff.http.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "services": {
            "accounts": "up",
            "catalog": "up",
            "inventory": "up",
            "reviews": "up",
            "orders": "up",
            "recommendations": "up",
        },
        "circuits": dict.fromkeys(
            ("accounts", "catalog", "inventory", "reviews", "orders", "recommendations"), "closed"
        ),
    }


async def test_readyz_names_the_services_that_are_down() -> None:
    env = {
        "BFF_ORDERS_URL": f"http://127.0.0.1:{free_port()}",
        "BFF_REVIEWS_URL": f"http://127.0.0.1:{free_port()}",
    }
    async with running_bff(env, network=["orders", "reviews"]) as bff:
        response = await bff.http.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["down"] == ["reviews", "orders"]
    assert body["services"]["catalog"] == "up"
    assert "127.0.0.1" not in response.text
