"""What every resolver of one request receives."""

from __future__ import annotations

from dataclasses import dataclass

from clients.registry import Clients
from resolvers.experiments import Assignments
from resolvers.loaders import Loaders

ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking, as their access token says; `user_id` is None when anonymous."""

    user_id: str | None = None
    scopes: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()
    authorization: str | None = None
    """The `Authorization` header to forward, so services see the same caller."""
    expires_at: float | None = None
    """Unix time from which the token is no longer accepted (its `exp` plus the
    leeway); None for an anonymous caller."""

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles

    def expired(self, now: float) -> bool:
        """Whether the token has stopped being accepted at Unix time `now`."""
        return self.expires_at is not None and now >= self.expires_at

    def may_see(self, user_id: str) -> bool:
        """A user's own data is theirs and admins'."""
        return self.user_id == user_id or self.is_admin


@dataclass(frozen=True, slots=True)
class Context:
    """Per-request state: built for each operation, never shared between two."""

    request_id: str
    caller: Caller
    clients: Clients
    loaders: Loaders
    experiments: Assignments
    """The caller's experiment variants and feature flags (`resolvers.experiments`)."""
