"""The streaming entry points, served over WebSockets (`bff.ws.subscriptions`)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Annotated

import strawberry

import resolvers.orders
from clients.orders import OrderRecord
from schema.info import Info
from schema.orders import Order


@strawberry.type(description="The streaming entry points, over a WebSocket.")
class Subscription:
    @strawberry.subscription(
        description=(
            "The order at once, then again each time its status changes; completes once it "
            "is delivered or cancelled. Only its owner and admins may follow it, as with "
            "`order`."
        )
    )
    async def order_status(
        self,
        info: Info,
        order_id: Annotated[
            strawberry.ID, strawberry.argument(description="The order's id, e.g. o1.")
        ],
    ) -> AsyncGenerator[Order]:
        return _orders(await resolvers.orders.watch_order(info.context, order_id))


async def _orders(records: AsyncGenerator[OrderRecord]) -> AsyncGenerator[Order]:
    async with aclosing(records):
        async for record in records:
            yield Order.from_record(record)
