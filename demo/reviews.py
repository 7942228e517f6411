"""reviews (port 8104): reviews by product or by author, rating summaries, new reviews."""

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response

from demo.app import ContractRoute
from demo.http import ApiError, cached_json, json_response
from demo.params import ids, json_object, limit, optional_ids
from demo.records import Review, sequence_number
from demo.store import Store

CACHE_CONTROL = "public, max-age=30"
MAX_BODY = 5_000


class Reviews:
    """`GET /reviews` takes exactly one of `productIds` and `authorIds`.

    By product the items are one flat list, newest first, at most `limit` per product;
    by author they are grouped by author (each group newest first). Summaries list
    every known product, with `average: null` while it has no reviews.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._products = store.data.products
        self._users = store.data.users

    def routes(self) -> list[ContractRoute]:
        return [
            ContractRoute("GET", "/reviews", self.get_reviews),
            ContractRoute("GET", "/reviews/summary", self.get_summaries),
            ContractRoute("POST", "/reviews", self.post_review),
        ]

    async def get_reviews(self, request: Request) -> Response:
        products = optional_ids(request, "productIds")
        authors = optional_ids(request, "authorIds")
        if (products is None) == (authors is None):
            raise ApiError(400, "bad_request", "give exactly one of productIds and authorIds")
        size = limit(request, default=5, maximum=50)
        found: list[Review] = []
        if products is not None:
            for product_id in products:
                found.extend(self._store.product_reviews(product_id, size))
            found.sort(key=lambda review: sequence_number(review.id), reverse=True)
        elif authors is not None:
            for author_id in authors:
                found.extend(self._store.author_reviews(author_id, size))
        items = [self._store.review_document(review) for review in found]
        return cached_json(request, {"items": items}, CACHE_CONTROL)

    async def get_summaries(self, request: Request) -> Response:
        items = []
        for product_id in ids(request, "productIds"):
            if product_id not in self._products:
                continue
            count, total = self._store.rating(product_id)
            average = round(total / count, 2) if count else None
            items.append({"productId": product_id, "average": average, "count": count})
        return cached_json(request, {"items": items}, CACHE_CONTROL)

    async def post_review(self, request: Request) -> Response:
        product_id, author_id, rating, body = self._validate(await json_object(request))
        review = self._store.add_review(product_id, author_id, rating, body)
        return json_response(self._store.review_document(review), 201)

    def _validate(self, draft: Mapping[str, object]) -> tuple[str, str, int, str]:
        product_id = draft.get("productId")
        author_id = draft.get("authorId")
        rating = draft.get("rating")
        body = draft.get("body")
        if not isinstance(product_id, str) or product_id not in self._products:
            raise ApiError(422, "invalid", "productId must name an existing product")
        if not isinstance(author_id, str) or author_id not in self._users:
            raise ApiError(422, "invalid", "authorId must name an existing user")
        if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
            raise ApiError(422, "invalid", "rating must be an integer from 1 to 5")
        if not isinstance(body, str) or not body.strip() or len(body) > MAX_BODY:
            raise ApiError(422, "invalid", f"body must be text of 1 to {MAX_BODY} characters")
        return product_id, author_id, rating, body
