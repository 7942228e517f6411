"""What a request's downstream reads cost, as the request saw them.

A `Recorder` in the request's `CallScope` hears about every exchange: network
calls, and reads the shared cache or a call already in flight answered. The
BFF uses this for the debug timeline and per-operation call counts; tracing
and metrics of network calls come from wrapping the transport instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Source = Literal["network", "shared", "in-flight"]


@dataclass(frozen=True, slots=True)
class Exchange:
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
    """Seconds since a shared-cache answer was fetched."""


class Recorder(Protocol):
    def record(self, exchange: Exchange) -> None: ...
