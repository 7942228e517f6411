import pytest

from demo.faults import Faults
from demo.services import DEFAULT_PORTS, SERVICE_NAMES, build_services
from tests.demo.support import Connect


def test_names_and_ports_follow_the_contract() -> None:
    assert SERVICE_NAMES == (
        "accounts", "catalog", "inventory", "reviews", "orders", "recommendations",
    )  # fmt: skip
    assert [DEFAULT_PORTS[name] for name in SERVICE_NAMES] == list(range(8101, 8107))


def test_build_services_builds_what_is_named() -> None:
    services = build_services(["reviews", "catalog", "reviews"])
    assert list(services) == ["reviews", "catalog"]
    assert all(service.name == name for name, service in services.items())
    assert set(build_services()) == set(SERVICE_NAMES)


def test_unknown_service_is_rejected() -> None:
    with pytest.raises(ValueError, match="shipping"):
        build_services(["shipping"])
    with pytest.raises(ValueError, match="shipping"):
        build_services(["catalog"], faults={"shipping": Faults()})


def test_given_faults_are_used_and_others_are_quiet() -> None:
    slow = Faults(latency_ms=5)
    services = build_services(faults={"catalog": slow})
    assert services["catalog"].faults is slow
    assert services["reviews"].faults == Faults()


async def test_writes_stay_in_their_own_set(connect: Connect) -> None:
    first, second = build_services(), build_services()
    draft = {"productId": "p1", "authorId": "u1", "rating": 5, "body": "Mine."}
    assert (await connect(first["reviews"]).post("/reviews", json=draft)).status_code == 201
    order = {"userId": "u1", "lines": [{"productId": "p2", "quantity": 1}]}
    headers = {"Idempotency-Key": "one"}
    placed = await connect(first["orders"]).post("/orders", json=order, headers=headers)
    assert placed.status_code == 201

    summary = "/reviews/summary?productIds=p1"
    counts = [
        (await connect(services["reviews"]).get(summary)).json()["items"][0]["count"]
        for services in (first, second)
    ]
    assert counts[0] == counts[1] + 1
    stock = [
        (await connect(services["inventory"]).get("/stock?productIds=p2")).json()["items"][0]
        for services in (first, second)
    ]
    assert stock[0]["available"] == stock[1]["available"] - 1
    order_id = placed.json()["id"]
    assert (await connect(second["orders"]).get(f"/orders/{order_id}")).status_code == 404


async def test_one_set_shares_its_store(connect: Connect) -> None:
    services = build_services(["orders", "inventory"])
    order = {"userId": "u1", "lines": [{"productId": "p2", "quantity": 1}]}
    inventory = connect(services["inventory"])
    before = (await inventory.get("/stock?productIds=p2")).json()["items"][0]["available"]
    await connect(services["orders"]).post("/orders", json=order, headers={"Idempotency-Key": "k"})
    after = (await inventory.get("/stock?productIds=p2")).json()["items"][0]["available"]
    assert after == before - 1
