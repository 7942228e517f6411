"""What a request's downstream reads cost, as the request saw them.

For the debug timeline and per-operation call counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Source = Literal["network", "shared", "in-flight", "stale", "refused"]
"""Who answered: the service, the shared cache, a call already under way, an
expired cache entry served because the service failed, or nobody: the call was
refused before it was sent (open circuit, time budget spent)."""


@dataclass(slots=True)
class Exchange:
    """One read or call of a request. Not frozen: one is made for every call, and a
    frozen dataclass sets each of its fields through `object.__setattr__`."""

    service: str
    method: str
    route: str
    source: Source
    started: float
    """`time.perf_counter()` when the read began."""
    seconds: float
    status: int | None = None
    """The HTTP status of a network call; None when it failed without one."""
    error: str | None = None
    """The GraphQL code of a failed call, e.g. DOWNSTREAM_TIMEOUT."""
    batch_size: int | None = None
    """Ids named by a batch read (for shared hits: ids the cache answered)."""
    age: float | None = None
    """Seconds since a shared-cache (or stale) answer was fetched."""
    attempt: int = 1
    """1 for a first attempt, 2 for the first retry, ..."""
    hedge: bool = False
    """A duplicate sent because the first attempt was late."""
    ids: tuple[str, ...] = ()
    """For stale answers: the ids (or cache keys) served stale."""


class Recorder(Protocol):
    def record(self, exchange: Exchange) -> None: ...
