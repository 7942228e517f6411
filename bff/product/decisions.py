"""What product decisions need at run time: the experiments in force and usage analytics.

Each request gets an `Assignments` bound to its caller.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

from redis.asyncio import Redis

from bff.config.reloading import ReloadingFile
from bff.config.settings import ProductSettings
from bff.observability.metrics import Metrics
from bff.product.analytics.events import ExposureEvent, subject_of
from bff.product.analytics.exposures import ExposureLog, SharedExposures
from bff.product.analytics.pipeline import UsagePipeline
from bff.product.analytics.sinks import JsonLinesSink, RedisStreamSink, Sink, StdoutSink
from bff.product.experiments_file import load_rules
from clients.errors import DownstreamError
from resolvers.experiments import Assignments, Exposure, Profile, Rules, Subject
from resolvers.loaders import Loaders


class ProductDecisions:
    def __init__(
        self,
        settings: ProductSettings,
        *,
        redis: Redis | None,
        metrics: Metrics,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._wall_clock = wall_clock
        self.rules = (
            ReloadingFile(Path(settings.experiments_file), load_rules, what="experiments")
            if settings.experiments_file
            else None
        )
        sink = _sink(settings, redis)
        shared = (
            SharedExposures(
                redis,
                f"{settings.usage_stream}:exposed:",
                on_error=lambda: metrics.redis_errors.labels("exposures", "claim").inc(),
            )
            if redis is not None
            else None
        )
        self.usage = (
            UsagePipeline(
                sink,
                max_queue=settings.usage_queue,
                batch_size=settings.usage_batch,
                flush_interval_s=settings.usage_flush_s,
                report_interval_s=settings.usage_interval_s,
                sample=settings.usage_sample,
                claim=shared.claim if shared is not None else None,
                count=lambda result, records: metrics.usage_events.labels(result).inc(records),
                wall_clock=wall_clock,
            )
            if sink is not None
            else None
        )
        assert settings.subject_key or not settings.exposures, "the settings refuse that"
        self._subject_key = settings.subject_key.encode()
        self._exposures = ExposureLog(settings.exposure_window_s)
        self._watcher: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None

    def assignments(self, subject: Subject, loaders: Loaders, user_id: str | None) -> Assignments:
        """The experiments and flags as they stand for one request's caller."""

        async def profile() -> Profile | None:
            if user_id is None:
                return None
            try:
                user = await loaders.users.load(user_id)
            except DownstreamError:
                return None  # unknown tier or country: outside audiences that need them
            return None if user is None else Profile(user.tier, user.country)

        def exposed(exposure: Exposure) -> None:
            if self.usage is not None and self._exposures.first(
                exposure.experiment, exposure.variant, exposure.unit
            ):
                self.usage.record(
                    ExposureEvent(
                        time=self._wall_clock(),
                        experiment=exposure.experiment,
                        variant=exposure.variant,
                        subject=subject_of(exposure.unit, exposure.experiment, self._subject_key),
                        client_name=subject.client_name,
                        client_version=subject.client_version,
                        window_s=self._settings.exposure_window_s,
                    )
                )

        return Assignments(
            self.rules.current if self.rules is not None else Rules(),
            subject,
            profile=profile,
            exposed=exposed,
            now=datetime.fromtimestamp(self._wall_clock(), UTC),
        )

    def start(self) -> None:
        if self.rules is not None:
            self._watcher = asyncio.create_task(self.rules.watch(self._settings.reload_interval_s))
        if self.usage is not None:
            self._writer = asyncio.create_task(self.usage.run())

    async def stop(self) -> None:
        """Stop watching the file; let the usage writer write what it holds, and end."""
        if self._watcher is not None:
            self._watcher.cancel()
            with suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        if self.usage is not None:
            self.usage.close()
            if self._writer is not None:
                await self._writer
                self._writer = None
            else:
                await self.usage.flush()


def _sink(settings: ProductSettings, redis: Redis | None) -> Sink | None:
    if settings.usage_sink == "jsonl":
        return JsonLinesSink(
            Path(settings.usage_file),
            max_bytes=settings.usage_file_max_bytes,
            keep=settings.usage_file_keep,
        )
    if settings.usage_sink == "redis":
        assert redis is not None, "the settings refuse a redis sink without BFF_REDIS_URL"
        return RedisStreamSink(redis, settings.usage_stream)
    if settings.usage_sink == "stdout":
        return StdoutSink()
    return None
