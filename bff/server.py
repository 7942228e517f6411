"""Running the BFF under uvicorn."""

from __future__ import annotations

import logging
import os

import uvicorn
from starlette.applications import Starlette

from bff.app import create_app
from bff.settings import Settings

YOUNG_GENERATION_THRESHOLD = 10_000


def app_from_environ() -> Starlette:
    """The app factory uvicorn calls in each worker process."""
    settings = Settings.from_environ(os.environ)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s %(message)s"
    )
    return create_app(settings)


def serve(settings: Settings) -> None:
    """Serve on the settings' host and port with their number of workers."""
    uvicorn.run(
        "bff.server:app_from_environ",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        http="httptools",
        log_level=settings.log_level,
        access_log=False,
        timeout_graceful_shutdown=10,
    )
