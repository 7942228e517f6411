"""inventory (port 8103): stock levels, batched by product; orders placed here lower them."""

from starlette.requests import Request
from starlette.responses import Response

from demo.app import ContractRoute
from demo.http import cached_json
from demo.params import ids
from demo.store import Store

CACHE_CONTROL = "public, max-age=5"  # stock is volatile


class Inventory:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._stock = store.data.stock

    def routes(self) -> list[ContractRoute]:
        return [ContractRoute("GET", "/stock", self.get_stock)]

    async def get_stock(self, request: Request) -> Response:
        items = [
            {
                "productId": product_id,
                "available": self._store.available(product_id),
                "warehouse": self._stock[product_id].warehouse,
            }
            for product_id in ids(request, "productIds")
            if product_id in self._stock
        ]
        return cached_json(request, {"items": items}, CACHE_CONTROL)
