"""The write entry points."""

from __future__ import annotations

from typing import Annotated

import strawberry

import resolvers.orders
import resolvers.reviews
from clients.orders import LineRequest
from schema.info import Info
from schema.orders import Order, PlaceOrderInput
from schema.permissions import HasScope, IsAuthenticated, allowed
from schema.reviews import AddReviewInput, Review


@strawberry.type(description="The write entry points; each needs a signed-in caller.")
class Mutation:
    @strawberry.mutation(
        description="Write a review as the signed-in caller.",
        extensions=allowed(IsAuthenticated()),
    )
    async def add_review(
        self,
        info: Info,
        input: Annotated[
            AddReviewInput, strawberry.argument(description="The product, rating and text.")
        ],
    ) -> Review:
        record = await resolvers.reviews.add_review(
            info.context, input.product_id, input.rating, input.body
        )
        return Review.from_record(record)

    @strawberry.mutation(
        description=(
            "Place an order as the signed-in caller (needs the `orders:write` scope). Retrying "
            "with the same `idempotencyKey` returns the first order instead of placing another."
        ),
        extensions=allowed(IsAuthenticated(), HasScope("orders:write")),
    )
    async def place_order(
        self,
        info: Info,
        input: Annotated[PlaceOrderInput, strawberry.argument(description="The lines to order.")],
        idempotency_key: Annotated[
            str,
            strawberry.argument(
                description=(
                    "A key the client picks per order it means to place, and sends again when "
                    "it retries that order: printable ASCII, at most "
                    f"{resolvers.orders.MAX_KEY} characters. Keys are per caller."
                )
            ),
        ],
    ) -> Order:
        lines = [
            LineRequest(product_id=line.product_id, quantity=line.quantity) for line in input.lines
        ]
        record = await resolvers.orders.place_order(info.context, lines, idempotency_key)
        return Order.from_record(record)
