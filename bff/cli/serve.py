"""Running the BFF under uvicorn."""

from __future__ import annotations

import gc
import logging
import os

import uvicorn
from starlette.applications import Starlette

from bff.config.settings import Settings
from bff.http.app import create_app
from bff.observability import metrics_directory
from bff.observability.logs import configure_logging

YOUNG_GENERATION_THRESHOLD = 10_000
_log = logging.getLogger("bff.cli.serve")


def app_from_environ() -> Starlette:
    """The app factory uvicorn calls in each worker process."""
    settings = Settings.from_environ(os.environ)
    configure_logging(settings.log_level, settings.log_format)
    app = create_app(
        settings,
        handle_signals=True,
        metrics_directory=os.environ.get(metrics_directory.VARIABLE) or None,
    )
    tune_garbage_collector()
    return app


def tune_garbage_collector() -> None:
    """Collect less often, and never rescan what start-up built.

    Each GraphQL operation allocates thousands of short-lived objects, so the
    default young-generation threshold (700) runs the collector many times per
    request; frozen start-up objects (modules, the schema) are left out of
    every later scan. Cycles are still collected, just in larger batches.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, 10, 10)


def serve(settings: Settings) -> None:
    """Serve on the settings' host and port with their number of workers."""
    configure_logging(settings.log_level, settings.log_format)
    if settings.workers > 1 and not settings.redis_url:
        _log.warning(
            "%d workers without BFF_REDIS_URL: each keeps its own %s; metrics are shared",
            settings.workers,
            ", ".join(per_worker_state(settings)),
        )
    with metrics_directory.prepared(settings.workers, os.environ):
        _run(settings)


def per_worker_state(settings: Settings) -> list[str]:
    """What each worker keeps to itself when no Redis is shared."""
    state = []
    if settings.persisted.apq and not settings.persisted.safelist:
        state.append("APQ registrations")
    if settings.rate_limit.enabled:
        state.append("rate-limit buckets")
    if settings.response_cache:
        state.append("response cache")
    if settings.downstream_cache:
        state.append("downstream cache")
    state += ["circuit breakers and retry budgets", "WebSocket and subscription caps"]
    return state


def _run(settings: Settings) -> None:
    uvicorn.run(
        "bff.cli.serve:app_from_environ",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        http="httptools",
        log_level=settings.log_level,
        access_log=False,
        # In-flight requests end within their budget; this bounds the wait regardless.
        timeout_graceful_shutdown=max(1, round(settings.resilience.drain_timeout_s)),
        # A WebSocket message is a GraphQL request: held to the body limit by the
        # protocol layer, which refuses a bigger frame (1009) from its header alone
        # instead of reading up to uvicorn's default 16 MiB first.
        ws_max_size=settings.limits.max_body_bytes,
        # The client address is the peer's unless BFF_TRUSTED_PROXIES says otherwise:
        # uvicorn would otherwise believe X-Forwarded-For from any loopback peer.
        proxy_headers=False,
        ssl_certfile=settings.http.tls_cert_file or None,
        ssl_keyfile=settings.http.tls_key_file or None,
    )
