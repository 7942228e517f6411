"""An exposure counts once per caller, variant and window, across every worker.

See docs/usage.md, Exposures count once across workers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from cachetools import TTLCache
from redis.asyncio import Redis

from bff.product.analytics.events import Event, ExposureEvent

_log = logging.getLogger("bff.product.analytics")


class ExposureLog:
    """Lets the first exposure of each caller to each variant through, once per window."""

    def __init__(self, window_s: float, *, max_entries: int = 200_000) -> None:
        self._seen: TTLCache[tuple[str, str, str], bool] = TTLCache(max_entries, window_s)

    def first(self, experiment: str, variant: str, unit: str) -> bool:
        key = (experiment, variant, unit)
        if key in self._seen:
            return False
        self._seen[key] = True
        return True


class SharedExposures:
    """Claims exposures in Redis, off the request path, before they are written."""

    def __init__(
        self, redis: Redis, prefix: str, *, on_error: Callable[[], None] = lambda: None
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._on_error = on_error

    async def claim(self, events: Sequence[Event]) -> list[Event]:
        """`events` less the exposures another process already wrote in their window.

        When Redis fails (or anything else in the claim) every exposure is kept:
        readers count a caller once per window anyway, and a lost exposure could
        not be recovered.
        """
        exposures = [event for event in events if isinstance(event, ExposureEvent)]
        if not exposures:
            return list(events)
        try:
            async with self._redis.pipeline(transaction=False) as pipeline:
                for event in exposures:
                    pipeline.set(
                        f"{self._prefix}{event.experiment}:{event.variant}:{event.subject}",
                        1,
                        nx=True,
                        ex=max(1, round(event.window_s)),
                    )
                claimed = await pipeline.execute()
        except Exception as error:  # a failed claim must not lose the exposures
            _log.warning("exposures not deduplicated in Redis: %s", type(error).__name__)
            self._on_error()
            return list(events)
        lost = {id(event) for event, won in zip(exposures, claimed, strict=True) if not won}
        return [event for event in events if id(event) not in lost]
