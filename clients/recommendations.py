"""The recommendations service: product ids picked for one user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from clients.base import ServiceClient
from clients.decoding import JsonObject, choice, texts

Model = Literal["popular", "similar"]
MODELS: tuple[Model, ...] = ("popular", "similar")


@dataclass(frozen=True, slots=True)
class RecommendationsRecord:
    product_ids: tuple[str, ...]
    model: Model

    @classmethod
    def from_json(cls, obj: JsonObject) -> RecommendationsRecord:
        return cls(product_ids=tuple(texts(obj, "productIds")), model=choice(obj, "model", MODELS))


class RecommendationsClient(ServiceClient):
    async def get_recommendations(
        self, user_id: str, *, model: Model, limit: int
    ) -> RecommendationsRecord:
        """One user only: the contract has no batch form."""
        return await self.get(
            "/recommendations/{userId}",
            RecommendationsRecord.from_json,
            resource="for-user",
            key=user_id,
            variant=(model, limit),
            path={"userId": user_id},
            params={"model": model, "limit": str(limit)},
        )
