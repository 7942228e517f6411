"""What `bff serve` and `bff demo` decide about workers before any starts."""

from __future__ import annotations

from bff.cli.main import demo_workers
from bff.cli.serve import per_worker_state
from bff.config.settings import Settings


def test_the_demo_runs_one_worker_unless_asked_for_more() -> None:
    assert demo_workers(Settings.from_environ({}), {}).workers == 1
    asked = {"BFF_WORKERS": "2"}
    assert demo_workers(Settings.from_environ(asked), asked).workers == 2


def test_what_each_worker_keeps_follows_what_is_on() -> None:
    production = per_worker_state(Settings.from_environ({"BFF_PROFILE": "production"}))
    lean = per_worker_state(
        Settings.from_environ(
            {
                "BFF_APQ": "false",
                "BFF_RESPONSE_CACHE": "false",
                "BFF_DOWNSTREAM_CACHE": "false",
            }
        )
    )

    assert production[:2] == ["APQ registrations", "rate-limit buckets"]
    assert lean == ["circuit breakers and retry budgets", "WebSocket and subscription caps"]
