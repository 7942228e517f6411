import asyncio
import time

import httpx
import pytest

from demo.faults import Faults
from demo.services import build_services
from tests.demo.support import Connect, error_code


def test_defaults_inject_nothing() -> None:
    faults = Faults()
    assert all(faults.draw().delay == 0 and not faults.draw().fail for _ in range(100))
    assert faults.hang_seconds == 300


def test_draws_are_reproducible_per_service() -> None:
    def draws(faults: Faults) -> list[tuple[float, bool]]:
        return [(d.delay, d.fail) for d in (faults.draw() for _ in range(50))]

    settings = {"jitter_ms": 10.0, "error_rate": 0.5}
    assert draws(Faults.for_service("catalog", **settings)) == draws(
        Faults.for_service("catalog", **settings)
    )
    assert draws(Faults.for_service("catalog", **settings)) != draws(
        Faults.for_service("reviews", **settings)
    )


def test_rates_are_respected_roughly() -> None:
    faults = Faults.for_service("catalog", error_rate=0.3, hang_rate=0.1, hang_seconds=5)
    draws = [faults.draw() for _ in range(2000)]
    assert 0.25 < sum(d.fail for d in draws) / 2000 < 0.35
    assert 0.07 < sum(d.delay >= 5 for d in draws) / 2000 < 0.13


def test_jitter_adds_up_to_its_bound() -> None:
    faults = Faults(latency_ms=20, jitter_ms=10)
    delays = [faults.draw().delay for _ in range(500)]
    assert all(0.020 <= delay <= 0.030 for delay in delays)
    assert max(delays) - min(delays) > 0.005


@pytest.mark.parametrize(
    "settings",
    [{"latency_ms": -1.0}, {"error_rate": 1.5}, {"hang_rate": -0.1}, {"jitter_ms": float("nan")}],
)
def test_invalid_settings_are_rejected(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(settings))):
        Faults.for_service("catalog", **settings)


def test_environment_sets_faults_with_per_service_overrides() -> None:
    environ = {
        "DEMO_LATENCY_MS": "5",
        "DEMO_ERROR_RATE": "0.1",
        "DEMO_CATALOG_LATENCY_MS": "7.5",
        "DEMO_HANG_SECONDS": "2",
    }
    catalog = Faults.from_environ("catalog", environ)
    reviews = Faults.from_environ("reviews", environ)
    assert (catalog.latency_ms, catalog.error_rate, catalog.hang_seconds) == (7.5, 0.1, 2)
    assert reviews.latency_ms == 5


@pytest.mark.parametrize("environ", [{"DEMO_ERROR_RATE": "often"}, {"DEMO_CATALOG_HANG_RATE": "2"}])
def test_malformed_environment_names_the_variable(environ: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=next(iter(environ))):
        Faults.from_environ("catalog", environ)


def test_update_is_all_or_nothing() -> None:
    faults = Faults()
    faults.update({"latency_ms": 3, "error_rate": 0.5})
    assert faults.to_json()["latency_ms"] == 3
    bad_updates: list[tuple[dict[str, object], str]] = [
        ({"latency_ms": 9, "error_rate": 2}, "error_rate"),
        ({"speed": 1}, "speed"),
        ({"latency_ms": True}, "latency_ms"),
    ]
    for bad, named in bad_updates:
        with pytest.raises(ValueError, match=named):
            faults.update(bad)
    assert (faults.latency_ms, faults.error_rate) == (3, 0.5)


async def test_error_rate_one_answers_503(connect: Connect) -> None:
    services = build_services(["catalog"], faults={"catalog": Faults(error_rate=1.0)})
    client = connect(services["catalog"])
    response = await client.get("/products/p1")
    assert response.status_code == 503
    assert "retry-after" not in response.headers
    assert error_code(response) == "unavailable"
    # Faulted requests were still made, so they count.
    assert services["catalog"].stats.by_route()["GET /products/{id}"] == 1

    services["catalog"].faults.retry_after_s = 2
    response = await client.get("/products/p1")
    assert (response.status_code, response.headers["retry-after"]) == (503, "2")


async def test_a_caller_deadline_shorter_than_the_delay_is_given_up_with_504(
    connect: Connect,
) -> None:
    services = build_services(["catalog"], faults={"catalog": Faults(hang_rate=1.0)})
    client = connect(services["catalog"])
    response = await client.get("/products/p1", headers={"x-request-timeout-ms": "50"})
    assert response.status_code == 504
    assert error_code(response) == "deadline_exceeded"
    assert services["catalog"].stats.abandoned() == {"GET /products/{id}": 1}

    services["catalog"].faults.hang_rate = 0
    response = await client.get("/products/p1", headers={"x-request-timeout-ms": "5000"})
    assert response.status_code == 200
    assert services["catalog"].stats.abandoned() == {"GET /products/{id}": 1}


async def test_faults_spare_health_and_admin(connect: Connect) -> None:
    # A minute of added latency: answering at all shows it was not applied, with
    # no race against a busy machine's clock.
    faults = Faults(error_rate=1.0, latency_ms=60_000)
    services = build_services(["catalog"], faults={"catalog": faults})
    client = connect(services["catalog"])
    answers = await asyncio.wait_for(
        asyncio.gather(
            client.get("/healthz"), client.get("/_demo/stats"), client.get("/_demo/faults")
        ),
        timeout=30,
    )
    assert [answer.status_code for answer in answers] == [200, 200, 200]


async def test_latency_is_added(connect: Connect) -> None:
    services = build_services(["accounts"], faults={"accounts": Faults(latency_ms=100)})
    client = connect(services["accounts"])
    started = time.perf_counter()
    response = await client.get("/users/u1")
    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.1


async def test_a_hang_outlasts_the_callers_timeout(connect: Connect) -> None:
    faults = Faults(hang_rate=1.0, hang_seconds=0.3)
    services = build_services(["accounts"], faults={"accounts": faults})
    client = connect(services["accounts"])
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(client.get("/users/u1"), timeout=0.1)
    # A hang ends eventually, and then the request is answered.
    started = time.perf_counter()
    assert (await client.get("/users/u1")).status_code == 200
    assert time.perf_counter() - started >= 0.3


async def test_faults_can_change_while_running(accounts: httpx.AsyncClient) -> None:
    assert (await accounts.get("/users/u1")).status_code == 200
    response = await accounts.put("/_demo/faults", json={"error_rate": 1})
    assert response.json()["error_rate"] == 1
    assert (await accounts.get("/users/u1")).status_code == 503
    await accounts.put("/_demo/faults", json={"error_rate": 0})
    assert (await accounts.get("/users/u1")).status_code == 200


async def test_a_hold_keeps_the_caught_requests_until_released(connect: Connect) -> None:
    services = build_services(["accounts"])
    hold, stats = services["accounts"].faults.hold, services["accounts"].stats
    client = connect(services["accounts"])
    hold.catch(2)
    held = [asyncio.create_task(client.get(f"/users/u{n}")) for n in (1, 2)]
    await hold.caught(2)
    passing = await client.get("/users/u3")  # the third is not caught
    hold.catch(1)
    given_up = asyncio.create_task(client.get("/users/u4"))
    await hold.caught(3)
    given_up.cancel()  # its caller gives up: it leaves the hold
    await asyncio.gather(given_up, return_exceptions=True)

    assert not any(task.done() for task in held)
    assert stats.in_flight == 2
    await hold.release()
    answers = await asyncio.gather(*held)
    assert [answer.status_code for answer in answers] == [200, 200]
    assert passing.status_code == 200
    assert stats.by_route()["GET /users/{id}"] == 4
