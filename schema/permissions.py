"""Who may see a field or run a mutation, from the caller's token (`Context.caller`).

See docs/security.md, Authorization.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.permission import BasePermission, PermissionExtension

from clients.errors import Forbidden, Unauthenticated
from schema.info import Info


class IsAuthenticated(BasePermission):
    message = "Sign in first: this needs a signed-in caller."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.caller.user_id is not None

    def on_unauthorized(self) -> None:
        raise Unauthenticated(str(self.message))


class IsSelfOrAdmin(BasePermission):
    """For fields of a user: only that user, or an admin, may see them."""

    message = "Only the user themselves or an admin may see this field."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        caller = info.context.caller
        if caller.user_id is None:
            raise Unauthenticated(
                "Sign in first: only the user themselves or an admin may see this."
            )
        return caller.may_see(str(source.id))

    def on_unauthorized(self) -> None:
        raise Forbidden(str(self.message))


class HasScope(BasePermission):
    """The caller's token carries a scope (admins pass without it)."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        self.message = f"This needs the `{scope}` scope in the caller's token."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        caller = info.context.caller
        return caller.is_admin or self.scope in caller.scopes

    def on_unauthorized(self) -> None:
        raise Forbidden(str(self.message))


def allowed(*permissions: BasePermission) -> list[strawberry.extensions.FieldExtension]:
    """Field extensions that check `permissions` in order before the resolver runs."""
    return [PermissionExtension(permissions=list(permissions), use_directives=False)]
