"""The orders service: orders, placing them, and following their status."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from urllib.parse import quote

from clients.base import ServiceClient
from clients.cache import SharedCache
from clients.decoding import JsonObject, choice, integer, objects, text, timestamp
from clients.http import ServiceConfig
from clients.resilience import Resilience
from clients.streams import EventStreams, StreamSlots
from clients.wire import Wire

OrderStatus = Literal["placed", "paid", "shipped", "delivered", "cancelled"]
ORDER_STATUSES: tuple[OrderStatus, ...] = ("placed", "paid", "shipped", "delivered", "cancelled")
FINAL_STATUSES: frozenset[OrderStatus] = frozenset({"delivered", "cancelled"})
"""Statuses an order never leaves."""


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
    """Reads and writes through the service's pool; event streams through `streams`,
    a wire of their own (`open_http(..., streaming=True)`), else the same one,
    each holding one of the process's `slots` while it lasts."""

    def __init__(
        self,
        service: str,
        wire: Wire,
        config: ServiceConfig,
        cache: SharedCache | None = None,
        resilience: Resilience | None = None,
        *,
        streams: Wire | None = None,
        slots: StreamSlots | None = None,
    ) -> None:
        super().__init__(service, wire, config, cache, resilience)
        self._streams = EventStreams(
            service,
            streams or wire,
            forward_authorization=config.forward_authorization,
            slots=slots,
        )

    async def aclose(self) -> None:
        await super().aclose()
        await self._streams.aclose()

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
        await self.forget("by-user", [user_id])
        await self.forget("order", [order.id])
        return order

    async def watch_order(
        self, order_id: str, *, seen: Iterable[OrderStatus] = ()
    ) -> AsyncGenerator[OrderRecord]:
        """The order each time its status changes, from its event stream, until it is final.

        Statuses in `seen`, or already given before the stream had to be opened
        again, are not repeated. Has no time budget: it lasts as long as the order
        takes.
        """
        records = self._streams.records(
            self._scope,
            f"/orders/{quote(order_id, safe='')}/events",
            "/orders/{id}/events",
            OrderRecord.from_json,
            key=_status,
            seen=seen,
        )
        async with aclosing(records):
            async for order in records:
                yield order
                if order.status in FINAL_STATUSES:
                    return


def _status(order: OrderRecord) -> OrderStatus:
    return order.status
