"""What `bff serve` decides about workers before any starts."""

from __future__ import annotations

from bff.cli.serve import per_worker_state
from bff.config.settings import Settings


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
