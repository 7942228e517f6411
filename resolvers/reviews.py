"""Reviews: writing one as the caller."""

from __future__ import annotations

from clients.errors import Unauthenticated
from clients.reviews import ReviewRecord
from resolvers.arguments import check_id, check_range, check_text
from resolvers.context import Context

MAX_BODY = 5000


async def add_review(context: Context, product_id: str, rating: int, body: str) -> ReviewRecord:
    """Write a review as the caller, and forget what this request knew of the product's reviews."""
    author_id = context.caller.user_id
    if author_id is None:
        raise Unauthenticated("addReview needs a signed-in caller")
    check_id("input.productId", product_id)
    check_range("input.rating", rating, 1, 5)
    text = check_text("input.body", body, max_length=MAX_BODY)
    review = await context.clients.reviews.create_review(
        product_id=product_id, author_id=author_id, rating=rating, body=text
    )
    context.loaders.ratings.clear_all()
    context.loaders.reviews_by_product.clear_all()
    context.loaders.reviews_by_author.clear_all()
    return review
