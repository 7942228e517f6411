"""What the downstream protections did, as logs and metrics (`clients.resilience`)."""

from __future__ import annotations

import logging

from bff.observability.metrics import Metrics
from clients.breaker import State

logger = logging.getLogger("bff.observability.protections")

_WORDS: dict[State, str] = {"open": "opened", "half-open": "half-open", "closed": "closed"}


class ResilienceReporter:
    """`ResilienceEvents` for the BFF: every breaker change logged, everything counted."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def circuit_changed(self, service: str, old: State, new: State, why: str) -> None:
        self._metrics.circuit_changes.labels(service, new).inc()
        level = logging.INFO if new == "closed" else logging.WARNING
        logger.log(
            level,
            "circuit for %s %s: %s",
            service,
            _WORDS[new],
            why,
            extra={"fields": {"service": service, "from": old, "to": new, "why": why}},
        )

    def retried(self, service: str, reason: str) -> None:
        self._metrics.retries.labels(service, reason).inc()

    def retry_refused(self, service: str, limit: str) -> None:
        self._metrics.retries_refused.labels(service, limit).inc()

    def hedged(self, service: str) -> None:
        self._metrics.hedges.labels(service).inc()
