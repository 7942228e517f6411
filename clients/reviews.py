"""The reviews service: reviews and rating summaries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from clients.base import PerId, ServiceClient, firsts
from clients.decoding import JsonObject, integer, optional_number, text, timestamp
from clients.errors import DownstreamError


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
    ) -> PerId[tuple[ReviewRecord, ...]]:
        """Per product, its newest reviews first, at most `limit`."""
        found = await self.get_batch(
            "/reviews",
            "productIds",
            product_ids,
            ReviewRecord.from_json,
            _product_id,
            resource="by-product",
            variant=limit,
            params={"limit": str(limit)},
        )
        return {key: _newest_first(reviews) for key, reviews in found.items()}

    async def get_reviews_by_authors(
        self, author_ids: Sequence[str], *, limit: int
    ) -> PerId[tuple[ReviewRecord, ...]]:
        """Per author, their newest reviews first, at most `limit`."""
        found = await self.get_batch(
            "/reviews",
            "authorIds",
            author_ids,
            ReviewRecord.from_json,
            _author_id,
            resource="by-author",
            variant=limit,
            params={"limit": str(limit)},
        )
        return {key: _newest_first(reviews) for key, reviews in found.items()}

    async def get_summaries(self, product_ids: Sequence[str]) -> PerId[RatingSummaryRecord]:
        """Rating summaries by product id; unknown products are left out."""
        found = await self.get_batch(
            "/reviews/summary",
            "productIds",
            product_ids,
            RatingSummaryRecord.from_json,
            _summary_product_id,
            resource="summaries",
        )
        return firsts(found)

    async def create_review(
        self, *, product_id: str, author_id: str, rating: int, body: str
    ) -> ReviewRecord:
        """Write a review; cached reviews and summaries it changes are forgotten."""
        created = await self.post_json(
            "/reviews",
            {"productId": product_id, "authorId": author_id, "rating": rating, "body": body},
        )
        review = self.parse(ReviewRecord.from_json, created)
        await self.forget("by-product", [product_id])
        await self.forget("summaries", [product_id])
        await self.forget("by-author", [author_id])
        return review


def _newest_first(
    reviews: tuple[ReviewRecord, ...] | DownstreamError,
) -> tuple[ReviewRecord, ...] | DownstreamError:
    # Batch answers group reviews in no guaranteed order.
    if isinstance(reviews, DownstreamError):
        return reviews
    return tuple(sorted(reviews, key=lambda review: review.created_at, reverse=True))


def _product_id(review: ReviewRecord) -> str:
    return review.product_id


def _author_id(review: ReviewRecord) -> str:
    return review.author_id


def _summary_product_id(summary: RatingSummaryRecord) -> str:
    return summary.product_id
