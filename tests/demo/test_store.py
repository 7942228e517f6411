import pytest

from demo.data import DemoData
from demo.store import Store


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_placed_orders_advance_one_step_per_period(data: DemoData) -> None:
    clock = FakeClock()
    store = Store(data, order_step_seconds=10, clock=clock)
    order, created = store.place_order("k", "u1", [("p1", 1)])
    assert created
    assert store.seconds_to_next_status(order) == 10
    clock.now += 9.5
    still = store.order(order.id)
    assert still is not None
    assert still.status == "placed"
    assert store.seconds_to_next_status(still) == pytest.approx(0.5)
    statuses = []
    for _ in range(5):
        clock.now += 10
        current = store.order(order.id)
        assert current is not None
        statuses.append(current.status)
    assert statuses == ["paid", "shipped", "delivered", "delivered", "delivered"]
    assert current is not None
    assert store.seconds_to_next_status(current) is None
    assert store.user_orders("u1", 1)[0].status == "delivered"


def test_generated_orders_under_way_advance_from_start_up(data: DemoData) -> None:
    clock = FakeClock()
    store = Store(data, order_step_seconds=10, clock=clock)
    paid = next(o for o in data.orders.values() if o.status == "paid")
    delivered = next(o for o in data.orders.values() if o.status == "delivered")
    assert store.order(paid.id) == paid
    assert store.order_document(paid) is data.documents[paid.id]
    clock.now += 10
    advanced = store.order(paid.id)
    assert advanced is not None
    assert advanced.status == "shipped"
    assert store.order(delivered.id) == delivered


def test_step_must_be_positive(data: DemoData) -> None:
    with pytest.raises(ValueError, match="order_step_seconds"):
        Store(data, order_step_seconds=0)
