"""Reviews: what users say about products, and writing a new one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

import resolvers.products
import resolvers.reviews
import resolvers.users
from clients.reviews import ReviewRecord
from resolvers.paths import FieldPath
from schema.batching import batched, converted
from schema.cache_control import public
from schema.info import Info

if TYPE_CHECKING:
    from schema.products import Product
    from schema.users import User


async def _authors(
    reviews: Sequence[Review], paths: Sequence[FieldPath], info: Info
) -> list[object]:
    from schema.users import User

    ids = [review.author_id for review in reviews]
    return converted(await resolvers.users.get_users(info.context, ids, paths), User.from_record)


async def _products(
    reviews: Sequence[Review], paths: Sequence[FieldPath], info: Info
) -> list[object]:
    from schema.products import products_by_id

    return await products_by_id([each.product_id for each in reviews], paths, info)


@strawberry.type(description="One user's opinion of one product.", directives=[public(30)])
class Review:
    id: strawberry.ID = strawberry.field(description="The review's id, e.g. r1.")
    rating: int = strawberry.field(description="From 1 (worst) to 5 (best).")
    body: str = strawberry.field(description="What the reviewer wrote.")
    created_at: datetime = strawberry.field(
        description="When it was written, e.g. 2024-01-02T03:04:05+00:00."
    )
    author_id: strawberry.Private[str]
    product_id: strawberry.Private[str]

    @classmethod
    def from_record(cls, record: ReviewRecord) -> Review:
        return cls(
            id=strawberry.ID(record.id),
            rating=record.rating,
            body=record.body,
            created_at=record.created_at,
            author_id=record.author_id,
            product_id=record.product_id,
        )

    @strawberry.field(
        description="Who wrote it; their name is public, the rest of their account is not.",
        directives=[public(30)],
    )
    @batched(_authors)
    async def author(self, info: Info) -> Annotated[User, strawberry.lazy("schema.users")] | None:
        from schema.users import User

        return User.from_record(await resolvers.users.get_user(info.context, self.author_id))

    @strawberry.field(
        description="The product reviewed; null with NOT_FOUND when the catalog no longer has it."
    )
    @batched(_products)
    async def product(
        self, info: Info
    ) -> Annotated[Product, strawberry.lazy("schema.products")] | None:
        from schema.products import Product

        return Product.from_record(
            await resolvers.products.get_product(info.context, self.product_id)
        )


@strawberry.input(description="A review to write as the signed-in caller.")
class AddReviewInput:
    product_id: strawberry.ID = strawberry.field(
        description="The id of the product reviewed, e.g. p1."
    )
    rating: int = strawberry.field(description="From 1 to 5.")
    body: str = strawberry.field(
        description=f"The text, at most {resolvers.reviews.MAX_BODY:,} characters."
    )
