"""Orders: what users bought, and placing a new order."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

import resolvers.products
import resolvers.users
from clients.orders import OrderLineRecord, OrderRecord
from schema.cache_control import INHERIT, private
from schema.info import Info
from schema.money import Money

if TYPE_CHECKING:
    from schema.products import Product
    from schema.users import User


@strawberry.enum(description="Where an order is in its life.")
class OrderStatus(Enum):
    PLACED = "placed"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


@strawberry.type(description="One product and quantity in an order.", directives=[INHERIT])
class OrderLine:
    quantity: int
    unit_price: Money = strawberry.field(description="The price per unit when ordered.")
    product_id: strawberry.Private[str]

    @classmethod
    def from_record(cls, record: OrderLineRecord, currency: str) -> OrderLine:
        return cls(
            quantity=record.quantity,
            unit_price=Money.of(record.unit_price_cents, currency),
            product_id=record.product_id,
        )

    @strawberry.field
    async def product(
        self, info: Info
    ) -> Annotated[Product, strawberry.lazy("schema.products")] | None:
        from schema.products import Product

        return Product.from_record(
            await resolvers.products.get_product(info.context, self.product_id)
        )


@strawberry.type(description="A purchase by one user.", directives=[private(0)])
class Order:
    id: strawberry.ID
    status: OrderStatus
    total: Money
    lines: list[OrderLine]
    created_at: datetime
    user_id: strawberry.Private[str]

    @classmethod
    def from_record(cls, record: OrderRecord) -> Order:
        return cls(
            id=strawberry.ID(record.id),
            status=OrderStatus(record.status),
            total=Money.of(record.total_cents, record.currency),
            lines=[OrderLine.from_record(line, record.currency) for line in record.lines],
            created_at=record.created_at,
            user_id=record.user_id,
        )

    @strawberry.field(description="The user who placed the order.", directives=[private(30)])
    async def user(self, info: Info) -> Annotated[User, strawberry.lazy("schema.users")] | None:
        from schema.users import User

        return User.from_record(await resolvers.users.get_user(info.context, self.user_id))


@strawberry.input
class OrderLineInput:
    product_id: strawberry.ID
    quantity: int = strawberry.field(description="At least 1.")


@strawberry.input(description="What to order; the caller is the buyer.")
class PlaceOrderInput:
    lines: list[OrderLineInput] = strawberry.field(description="1 to 50 lines.")
