"""The inventory service: stock levels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from clients.base import ServiceClient
from clients.decoding import JsonObject, integer, text


@dataclass(frozen=True, slots=True)
class StockRecord:
    product_id: str
    available: int
    warehouse: str

    @classmethod
    def from_json(cls, obj: JsonObject) -> StockRecord:
        return cls(
            product_id=text(obj, "productId"),
            available=integer(obj, "available"),
            warehouse=text(obj, "warehouse"),
        )


class InventoryClient(ServiceClient):
    async def get_stock(self, product_ids: Sequence[str]) -> list[StockRecord]:
        return await self.get_batch("/stock", "productIds", product_ids, StockRecord.from_json)
