"""Users: the people who shop, review and order."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

import resolvers.users
from clients.accounts import UserRecord
from schema.cache_control import PRIVATE, private
from schema.info import Info
from schema.permissions import IsSelfOrAdmin, allowed
from schema.privacy import PERSONAL

if TYPE_CHECKING:
    from schema.orders import Order
    from schema.reviews import Review


@strawberry.enum(description="Loyalty tier of a user.")
class Tier(Enum):
    GOLD = strawberry.enum_value("gold", description="The highest tier.")
    SILVER = strawberry.enum_value("silver", description="The middle tier.")
    STANDARD = strawberry.enum_value("standard", description="The base tier.")


def _owners_only(description: str, *directives: object) -> Any:
    """An account field only the user and admins see: denied, it is null with an error.

    Nullable for that reason, and `PRIVATE`, so a response holding it is never
    shared between callers.
    """
    return strawberry.field(
        description=f"{description} Only the user and admins see it.",
        directives=[PRIVATE, *directives],
        extensions=allowed(IsSelfOrAdmin()),
    )


@strawberry.type(
    description=(
        "A user of the shop. Their id, name and reviews are public; the rest is theirs "
        "and admins' only."
    )
)
class User:
    id: strawberry.ID = strawberry.field(description="The user's id, e.g. u1; public.")
    name: str = strawberry.field(
        description="The name shown with the user's reviews.", directives=[PERSONAL]
    )
    email: str | None = _owners_only("Contact address.", PERSONAL)
    tier: Tier | None = _owners_only("Loyalty tier.")
    country: str | None = _owners_only("ISO 3166-1 alpha-2 country code, e.g. GB.", PERSONAL)
    created_at: datetime | None = _owners_only("When the account was opened.")

    @classmethod
    def from_record(cls, record: UserRecord) -> User:
        return cls(
            id=strawberry.ID(record.id),
            name=record.name,
            email=record.email,
            tier=Tier(record.tier),
            country=record.country,
            created_at=record.created_at,
        )

    @strawberry.field(
        description=(
            "The user's orders, newest first (only for the user and admins); null when the "
            "orders service cannot answer."
        ),
        directives=[private(0)],
        extensions=allowed(IsSelfOrAdmin()),
    )
    async def orders(
        self,
        info: Info,
        first: Annotated[
            int,
            strawberry.argument(description=f"How many orders, 1 to {resolvers.users.MAX_ORDERS}."),
        ] = 5,
    ) -> list[Annotated[Order, strawberry.lazy("schema.orders")]] | None:
        from schema.orders import Order

        records = await resolvers.users.get_orders_of(info.context, self.id, first)
        return [Order.from_record(record) for record in records]

    @strawberry.field(
        description=(
            "Reviews the user wrote, newest first; null when the reviews service cannot answer."
        )
    )
    async def reviews(
        self,
        info: Info,
        first: Annotated[
            int,
            strawberry.argument(
                description=f"How many reviews, 1 to {resolvers.users.MAX_REVIEWS}."
            ),
        ] = 5,
    ) -> list[Annotated[Review, strawberry.lazy("schema.reviews")]] | None:
        from schema.reviews import Review

        records = await resolvers.users.get_reviews_by(info.context, self.id, first)
        return [Review.from_record(record) for record in records]
