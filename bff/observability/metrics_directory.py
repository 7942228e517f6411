"""One `/metrics` for every worker: prometheus-client's multiprocess mode.

`bff serve` prepares the directory the workers write to (see
docs/observability.md, Metrics).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import CollectorRegistry

# prometheus_client.multiprocess has no annotations: its calls carry `type: ignore`.
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def prepared(workers: int, environ: MutableMapping[str, str]) -> Iterator[str | None]:
    """The directory the workers share, set in `environ` for them; None when not needed."""
    given = environ.get(VARIABLE)
    if given:
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        # Another run's files would add their counts to this one's.
        for stale in directory.glob("*.db"):
            stale.unlink()
        yield given
        return
    if workers == 1:
        yield None
        return
    fresh = tempfile.mkdtemp(prefix="bff-metrics-")
    environ[VARIABLE] = fresh
    try:
        yield fresh
    finally:
        del environ[VARIABLE]
        shutil.rmtree(fresh, ignore_errors=True)


def collected(directory: str) -> CollectorRegistry:
    """Every worker's values, as one registry to scrape."""
    _forget_dead_workers(directory)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return registry


def leave(directory: str) -> None:
    """This worker is stopping: its gauges no longer count."""
    mark_process_dead(os.getpid(), directory)  # type: ignore[no-untyped-call]


def _forget_dead_workers(directory: str) -> None:
    """Drop the gauges of workers that died without `leave` (killed, out of memory).

    The server replaces such a worker, and its last in-flight count or breaker
    state would otherwise stay in the sums for as long as the server runs.
    """
    for gauges in Path(directory).glob("gauge_live*_*.db"):
        pid = int(gauges.stem.rsplit("_", 1)[1])
        if not _alive(pid):
            mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
