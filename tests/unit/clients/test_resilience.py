"""The protections' own rules: backoff, Retry-After, retry budget, breaker states, hedge delay."""

from __future__ import annotations

import random

import pytest

from clients.breaker import BreakerPolicy, CircuitBreaker, State
from clients.hedging import HedgePolicy, LatencyTracker
from clients.retry import BudgetPolicy, RetryBudget, RetryPolicy, retry_after
from tests.harness import Clock


def test_backoff_is_full_jitter_under_a_doubling_ceiling() -> None:
    policy = RetryPolicy(attempts=5, base_delay_s=0.1, max_delay_s=0.3)
    rng = random.Random(7)
    for retry, ceiling in ((1, 0.1), (2, 0.2), (3, 0.3), (4, 0.3)):
        waits = [policy.backoff(retry, rng) for _ in range(500)]
        assert all(0 <= wait <= ceiling for wait in waits)
        # Full jitter spreads waits over the whole range, not around the ceiling.
        assert min(waits) < ceiling * 0.1
        assert max(waits) > ceiling * 0.9


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after("3") == 3.0
    assert retry_after(" 0 ") == 0.0
    assert retry_after("0.5") == 0.5
    assert retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=lambda: 1445412480.0) == 10.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=lambda: 1445412490.0) == 0.0
    assert retry_after(None) is None
    assert retry_after("soon") is None
    assert retry_after("-1") is None


def test_the_retry_budget_allows_a_share_of_calls_plus_a_floor() -> None:
    clock = Clock()
    budget = RetryBudget(BudgetPolicy(ratio=0.1, min_per_s=0.5, window_s=10), clock)
    for _ in range(100):
        budget.deposit()
    # 10% of 100 calls, plus 0.5 per second over 10 seconds: 15 extra attempts.
    granted = sum(budget.withdraw() for _ in range(40))
    assert granted == 15

    # Calls and retries leave the window as it slides.
    clock.now += 10
    assert budget.withdraw() is True
    granted = sum(budget.withdraw() for _ in range(40))
    assert granted == 4


def test_a_budget_without_floor_refuses_retries_to_an_idle_service() -> None:
    budget = RetryBudget(BudgetPolicy(ratio=0.1, min_per_s=0, window_s=10), Clock())
    for _ in range(9):
        budget.deposit()
    assert budget.withdraw() is False
    budget.deposit()
    assert budget.withdraw() is True
    assert budget.withdraw() is False


def breaker(clock: Clock, changes: list[tuple[State, State]], **policy: float) -> CircuitBreaker:
    settings = {"window_s": 10, "min_calls": 4, "failure_ratio": 0.5, "open_s": 5, "probes": 2}
    settings.update(policy)
    return CircuitBreaker(
        BreakerPolicy(**settings),  # type: ignore[arg-type]
        clock=clock,
        listener=lambda old, new, why: changes.append((old, new)),
    )


def state(circuit: CircuitBreaker) -> State:
    """The breaker's state, read afresh (so that type checkers do not pin it)."""
    return circuit.state


def call(circuit: CircuitBreaker, *, ok: bool | None) -> bool:
    """One call through the breaker; False when it was refused."""
    ticket = circuit.acquire()
    if ticket is None:
        return False
    circuit.release(ticket, ok=ok)
    return True


def test_the_breaker_opens_on_the_failure_ratio_once_the_window_has_enough_calls() -> None:
    clock = Clock()
    changes: list[tuple[State, State]] = []
    circuit = breaker(clock, changes)

    for _ in range(3):
        assert call(circuit, ok=False)
    assert state(circuit) == "closed"  # three calls are fewer than the minimum of four
    assert call(circuit, ok=True)
    assert state(circuit) == "closed"  # 3 of 4 failed, but the check runs on failures
    assert call(circuit, ok=False)
    assert state(circuit) == "open"
    assert changes == [("closed", "open")]
    assert not call(circuit, ok=True)


def test_failures_spread_thinly_over_time_never_open_the_breaker() -> None:
    clock = Clock()
    circuit = breaker(clock, [])
    for _ in range(30):
        assert call(circuit, ok=True)
        assert call(circuit, ok=True)
        assert call(circuit, ok=False)
        clock.now += 1
    assert state(circuit) == "closed"


def test_calls_the_service_cannot_be_blamed_for_are_not_counted() -> None:
    circuit = breaker(Clock(), [])
    for _ in range(10):
        assert call(circuit, ok=None)
    assert call(circuit, ok=False)
    assert state(circuit) == "closed"


def test_half_open_lets_a_few_probes_through_and_closes_after_they_succeed() -> None:
    clock = Clock()
    changes: list[tuple[State, State]] = []
    circuit = breaker(clock, changes)
    for _ in range(4):
        call(circuit, ok=False)
    assert state(circuit) == "open"

    clock.now += 4.9
    assert circuit.acquire() is None
    clock.now += 0.2
    first, second = circuit.acquire(), circuit.acquire()
    assert first is not None
    assert second is not None
    assert state(circuit) == "half-open"
    assert circuit.acquire() is None  # two probes at a time
    circuit.release(first, ok=True)
    assert state(circuit) == "half-open"
    circuit.release(second, ok=True)
    assert state(circuit) == "closed"
    assert changes == [("closed", "open"), ("open", "half-open"), ("half-open", "closed")]


def test_a_failed_probe_opens_the_breaker_again() -> None:
    clock = Clock()
    changes: list[tuple[State, State]] = []
    circuit = breaker(clock, changes)
    for _ in range(4):
        call(circuit, ok=False)
    clock.now += 5
    assert call(circuit, ok=False)
    assert state(circuit) == "open"
    assert not call(circuit, ok=True)
    clock.now += 5
    assert call(circuit, ok=True)
    assert call(circuit, ok=True)
    assert state(circuit) == "closed"
    assert changes[-3:] == [("half-open", "open"), ("open", "half-open"), ("half-open", "closed")]


def test_calls_admitted_while_closed_cannot_reopen_a_half_open_breaker() -> None:
    clock = Clock()
    circuit = breaker(clock, [])
    # As many slow calls as the window needs to judge, admitted before the circuit opened.
    late = [circuit.acquire() for _ in range(4)]
    for _ in range(4):
        call(circuit, ok=False)
    clock.now += 5
    probe = circuit.acquire()
    assert probe is not None
    assert state(circuit) == "half-open"

    for ticket in late:
        assert ticket is not None
        circuit.release(ticket, ok=False)  # of the closed era: ignored
    assert state(circuit) == "half-open"
    circuit.release(probe, ok=True)
    assert call(circuit, ok=True)
    assert state(circuit) == "closed"


def test_a_probe_of_an_earlier_half_open_round_counts_for_nothing() -> None:
    clock = Clock()
    circuit = breaker(clock, [])
    for _ in range(4):
        call(circuit, ok=False)
    clock.now += 5
    stale, failing = circuit.acquire(), circuit.acquire()
    assert stale is not None
    assert failing is not None
    circuit.release(failing, ok=False)
    assert state(circuit) == "open"
    clock.now += 5
    first = circuit.acquire()
    assert first is not None
    assert state(circuit) == "half-open"

    # The stale probe ends inside the new round: it frees no probe slot and is no success.
    circuit.release(stale, ok=True)
    second = circuit.acquire()
    assert second is not None
    assert circuit.acquire() is None  # still two probes at a time
    circuit.release(first, ok=True)
    assert state(circuit) == "half-open"
    circuit.release(second, ok=True)
    assert state(circuit) == "closed"


def test_a_disabled_breaker_admits_everything() -> None:
    circuit = CircuitBreaker(BreakerPolicy(enabled=False, min_calls=1), clock=Clock())
    for _ in range(50):
        assert call(circuit, ok=False)
    assert state(circuit) == "closed"


@pytest.mark.parametrize("enabled", [True, False])
def test_the_hedge_delay_is_the_observed_percentile_once_there_are_enough_samples(
    enabled: bool,
) -> None:
    tracker = LatencyTracker(HedgePolicy(enabled=enabled, min_delay_s=0.002, min_samples=50))
    for index in range(49):
        tracker.observe(0.001 * (index % 10 + 1))
    assert tracker.delay() is None
    for index in range(51):
        tracker.observe(0.001 * (index % 10 + 1))
    if not enabled:
        assert tracker.delay() is None
        return
    # 100 samples of 1..10 ms: the 95th percentile is 10 ms.
    assert tracker.delay() == pytest.approx(0.010)


def test_the_hedge_delay_never_drops_below_its_floor() -> None:
    tracker = LatencyTracker(HedgePolicy(min_delay_s=0.02, min_samples=10))
    for _ in range(10):
        tracker.observe(0.001)
    assert tracker.delay() == 0.02
