"""What every resolver of one request receives."""

from __future__ import annotations

from dataclasses import dataclass

from clients.registry import Clients
from resolvers.loaders import Loaders


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking. `user_id` is None for anonymous callers."""

    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class Context:
    """Per-request state: built for each operation, never shared between two."""

    request_id: str
    caller: Caller
    clients: Clients
    loaders: Loaders
