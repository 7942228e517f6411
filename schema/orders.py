"""Orders: what users bought, and placing a new order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

import resolvers.orders
import resolvers.products
import resolvers.users
from clients.orders import OrderLineRecord, OrderRecord
from resolvers.paths import FieldPath
from schema.batching import batched
from schema.cache_control import INHERIT, private
from schema.info import Info
from schema.money import Money

if TYPE_CHECKING:
    from schema.products import Product
    from schema.users import User


@strawberry.enum(description="Where an order is in its life.")
class OrderStatus(Enum):
    PLACED = strawberry.enum_value("placed", description="Placed, not yet paid.")
    PAID = strawberry.enum_value("paid", description="Paid, not yet shipped.")
    SHIPPED = strawberry.enum_value("shipped", description="On its way to the buyer.")
    DELIVERED = strawberry.enum_value(
        "delivered", description="Arrived. Final: the status changes no more."
    )
    CANCELLED = strawberry.enum_value(
        "cancelled", description="Called off. Final: the status changes no more."
    )


async def _products(
    lines: Sequence[OrderLine], paths: Sequence[FieldPath], info: Info
) -> list[object]:
    from schema.products import products_by_id

    return await products_by_id([each.product_id for each in lines], paths, info)


@strawberry.type(description="One product and quantity in an order.", directives=[INHERIT])
class OrderLine:
    quantity: int = strawberry.field(description="How many units were ordered.")
    unit_price: Money = strawberry.field(description="The price per unit when ordered.")
    product_id: strawberry.Private[str]

    @classmethod
    def from_record(cls, record: OrderLineRecord, currency: str) -> OrderLine:
        return cls(
            quantity=record.quantity,
            unit_price=Money.of(record.unit_price_cents, currency),
            product_id=record.product_id,
        )

    @strawberry.field(
        description=(
            "The product as the catalog shows it now (its price today may differ from "
            "`unitPrice`); null with NOT_FOUND when the catalog no longer has it."
        )
    )
    @batched(_products)
    async def product(
        self, info: Info
    ) -> Annotated[Product, strawberry.lazy("schema.products")] | None:
        from schema.products import Product

        return Product.from_record(
            await resolvers.products.get_product(info.context, self.product_id)
        )


@strawberry.type(description="A purchase by one user.", directives=[private(0)])
class Order:
    id: strawberry.ID = strawberry.field(description="The order's id, e.g. o1.")
    status: OrderStatus = strawberry.field(
        description="Where the order is now; `orderStatus` follows its changes."
    )
    total: Money = strawberry.field(
        description="What the whole order costs, in the same currency as its lines."
    )
    lines: list[OrderLine] = strawberry.field(
        description="The products ordered, each with its quantity and unit price."
    )
    created_at: datetime = strawberry.field(
        description="When the order was placed, e.g. 2024-01-02T03:04:05+00:00."
    )
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


@strawberry.input(description="One product to order, and how many.")
class OrderLineInput:
    product_id: strawberry.ID = strawberry.field(description="The product's id, e.g. p1.")
    quantity: int = strawberry.field(description=f"1 to {resolvers.orders.MAX_QUANTITY}.")


@strawberry.input(description="What to order; the caller is the buyer.")
class PlaceOrderInput:
    lines: list[OrderLineInput] = strawberry.field(
        description=f"1 to {resolvers.orders.MAX_LINES} lines."
    )
