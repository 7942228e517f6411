"""The inventory service: stock levels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from clients.base import PerId, ServiceClient, firsts
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
    async def get_stock(self, product_ids: Sequence[str]) -> PerId[StockRecord]:
        """Stock by product id; products without a stock record are left out."""
        found = await self.get_batch(
            "/stock",
            "productIds",
            product_ids,
            StockRecord.from_json,
            _product_id,
            resource="stock",
        )
        return firsts(found)

    async def forget_stock(self, product_ids: Sequence[str]) -> None:
        """Stock of these products changed (an order was placed)."""
        await self.forget("stock", product_ids)


def _product_id(stock: StockRecord) -> str:
    return stock.product_id
