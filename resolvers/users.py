"""Users: the caller, any user by id, and what hangs off a user."""

from __future__ import annotations

from collections.abc import Sequence

from clients.accounts import UserRecord
from clients.orders import OrderRecord
from clients.reviews import ReviewRecord
from resolvers.arguments import check_id, check_range, load_existing, load_existing_each
from resolvers.context import Context
from resolvers.paths import FieldPath

MAX_ORDERS = 50
MAX_REVIEWS = 50


async def get_me(context: Context) -> UserRecord | None:
    """The signed-in caller, or None for an anonymous one."""
    if context.caller.user_id is None:
        return None
    return await get_user(context, context.caller.user_id)


async def find_user(context: Context, user_id: str) -> UserRecord:
    """The user a client asked for by id."""
    return await get_user(context, check_id("id", user_id))


async def get_user(context: Context, user_id: str) -> UserRecord:
    return await load_existing(context.loaders.users, user_id, service="accounts", kind="user")


async def get_users(
    context: Context, user_ids: Sequence[str], paths: Sequence[FieldPath]
) -> list[UserRecord | Exception]:
    """`get_user` for the objects of a level at once (`schema.batching`)."""
    return await load_existing_each(
        context.loaders.users, user_ids, paths, service="accounts", kind="user"
    )


async def get_orders_of(context: Context, user_id: str, first: int) -> Sequence[OrderRecord]:
    check_range("first", first, 1, MAX_ORDERS)
    return await context.loaders.orders_by_user.load((user_id, first))


async def get_reviews_by(context: Context, user_id: str, first: int) -> Sequence[ReviewRecord]:
    check_range("first", first, 1, MAX_REVIEWS)
    return await context.loaders.reviews_by_author.load((user_id, first))
