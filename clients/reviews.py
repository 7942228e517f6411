"""The reviews service: reviews and rating summaries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from clients.base import ServiceClient
from clients.decoding import JsonObject, integer, optional_number, text, timestamp


@dataclass(frozen=True, slots=True)
class ReviewRecord:
    id: str
    product_id: str
    author_id: str
    rating: int
    body: str
    created_at: datetime

    @classmethod
    def from_json(cls, obj: JsonObject) -> ReviewRecord:
        return cls(
            id=text(obj, "id"),
            product_id=text(obj, "productId"),
            author_id=text(obj, "authorId"),
            rating=integer(obj, "rating"),
            body=text(obj, "body"),
            created_at=timestamp(obj, "createdAt"),
        )


@dataclass(frozen=True, slots=True)
class RatingSummaryRecord:
    """`average` is None while a product has no reviews."""

    product_id: str
    average: float | None
    count: int

    @classmethod
    def from_json(cls, obj: JsonObject) -> RatingSummaryRecord:
        return cls(
            product_id=text(obj, "productId"),
            average=optional_number(obj, "average"),
            count=integer(obj, "count"),
        )


class ReviewsClient(ServiceClient):
    async def get_reviews_for_products(
        self, product_ids: Sequence[str], *, limit: int
    ) -> list[ReviewRecord]:
        """Newest first, at most `limit` per product."""
        return await self.get_batch(
            "/reviews",
            "productIds",
            product_ids,
            ReviewRecord.from_json,
            params={"limit": str(limit)},
        )

    async def get_reviews_by_authors(
        self, author_ids: Sequence[str], *, limit: int
    ) -> list[ReviewRecord]:
        """Newest first, at most `limit` per author."""
        return await self.get_batch(
            "/reviews",
            "authorIds",
            author_ids,
            ReviewRecord.from_json,
            params={"limit": str(limit)},
        )

    async def get_summaries(self, product_ids: Sequence[str]) -> list[RatingSummaryRecord]:
        return await self.get_batch(
            "/reviews/summary", "productIds", product_ids, RatingSummaryRecord.from_json
        )

    async def create_review(
        self, *, product_id: str, author_id: str, rating: int, body: str
    ) -> ReviewRecord:
        created = await self.post_json(
            "/reviews",
            {"productId": product_id, "authorId": author_id, "rating": rating, "body": body},
        )
        return self.parse(ReviewRecord.from_json, created)
