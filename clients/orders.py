"""The orders service: orders and placing them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from clients.base import ServiceClient
from clients.decoding import JsonObject, choice, integer, objects, text, timestamp

OrderStatus = Literal["placed", "paid", "shipped", "delivered", "cancelled"]
ORDER_STATUSES: tuple[OrderStatus, ...] = ("placed", "paid", "shipped", "delivered", "cancelled")


@dataclass(frozen=True, slots=True)
class OrderLineRecord:
    product_id: str
    quantity: int
    unit_price_cents: int

    @classmethod
    def from_json(cls, obj: JsonObject) -> OrderLineRecord:
        return cls(
            product_id=text(obj, "productId"),
            quantity=integer(obj, "quantity"),
            unit_price_cents=integer(obj, "unitPriceCents"),
        )


@dataclass(frozen=True, slots=True)
class OrderRecord:
    id: str
    user_id: str
    status: OrderStatus
    created_at: datetime
    lines: tuple[OrderLineRecord, ...]
    total_cents: int
    currency: str

    @classmethod
    def from_json(cls, obj: JsonObject) -> OrderRecord:
        return cls(
            id=text(obj, "id"),
            user_id=text(obj, "userId"),
            status=choice(obj, "status", ORDER_STATUSES),
            created_at=timestamp(obj, "createdAt"),
            lines=tuple(OrderLineRecord.from_json(line) for line in objects(obj, "lines")),
            total_cents=integer(obj, "totalCents"),
            currency=text(obj, "currency"),
        )


@dataclass(frozen=True, slots=True)
class LineRequest:
    product_id: str
    quantity: int


class OrdersClient(ServiceClient):
    async def get_order(self, order_id: str) -> OrderRecord:
        return await self.get(
            "/orders/{id}",
            OrderRecord.from_json,
            resource="order",
            key=order_id,
            path={"id": order_id},
        )

    async def get_orders_for_user(self, user_id: str, *, limit: int) -> tuple[OrderRecord, ...]:
        """Newest first. The contract has no batch form of this read."""
        return await self.get_items(
            "/orders",
            OrderRecord.from_json,
            resource="by-user",
            key=user_id,
            variant=limit,
            params={"userId": user_id, "limit": str(limit)},
        )

    async def create_order(
        self, *, user_id: str, lines: Sequence[LineRequest], idempotency_key: str
    ) -> OrderRecord:
        """Place an order; repeating the key returns the first order, not a second one.

        The user's cached order lists are forgotten; so must the caller forget the
        stock of the products ordered, which another service keeps.
        """
        created = await self.post_json(
            "/orders",
            {
                "userId": user_id,
                "lines": [
                    {"productId": line.product_id, "quantity": line.quantity} for line in lines
                ],
            },
            headers={"idempotency-key": idempotency_key},
        )
        order = self.parse(OrderRecord.from_json, created)
        self.forget("by-user", [user_id])
        self.forget("order", [order.id])
        return order
