"""The entities the demo services serve, as immutable records with their wire form.

Field names are Pythonic; `to_json` gives the contract's camelCase shape. Ids carry
their sequence number (`r17`), and sequence numbers follow creation time, so "newest
first" is "highest number first" for reviews and orders.
"""

from dataclasses import dataclass
from typing import Final, Literal

Tier = Literal["gold", "silver", "standard"]
OrderStatus = Literal["placed", "paid", "shipped", "delivered", "cancelled"]

# The life of an order; `cancelled` can only be reached from outside this sequence.
ORDER_PROGRESS: Final[tuple[OrderStatus, ...]] = ("placed", "paid", "shipped", "delivered")
TERMINAL_STATUSES: Final[frozenset[OrderStatus]] = frozenset({"delivered", "cancelled"})
CURRENCY: Final = "EUR"


def sequence_number(entity_id: str) -> int:
    """`r17` -> 17: the sort key behind every "newest first"."""
    return int(entity_id[1:])


@dataclass(frozen=True, slots=True)
class User:
    id: str
    name: str
    email: str
    tier: Tier
    country: str
    created_at: str

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "tier": self.tier,
            "country": self.country,
            "createdAt": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    name: str
    parent_id: str | None

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "parentId": self.parent_id}


@dataclass(frozen=True, slots=True)
class Product:
    id: str
    sku: str
    name: str
    description: str
    category_id: str
    price_cents: int
    currency: str
    image_url: str

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "sku": self.sku,
            "name": self.name,
            "description": self.description,
            "categoryId": self.category_id,
            "priceCents": self.price_cents,
            "currency": self.currency,
            "imageUrl": self.image_url,
        }


@dataclass(frozen=True, slots=True)
class Stock:
    product_id: str
    available: int
    warehouse: str

    def to_json(self) -> dict[str, object]:
        return {
            "productId": self.product_id,
            "available": self.available,
            "warehouse": self.warehouse,
        }


@dataclass(frozen=True, slots=True)
class Review:
    id: str
    product_id: str
    author_id: str
    rating: int
    body: str
    created_at: str

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "productId": self.product_id,
            "authorId": self.author_id,
            "rating": self.rating,
            "body": self.body,
            "createdAt": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class OrderLine:
    product_id: str
    quantity: int
    unit_price_cents: int

    def to_json(self) -> dict[str, object]:
        return {
            "productId": self.product_id,
            "quantity": self.quantity,
            "unitPriceCents": self.unit_price_cents,
        }


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    user_id: str
    status: OrderStatus
    created_at: str
    lines: tuple[OrderLine, ...]
    currency: str = CURRENCY

    @property
    def total_cents(self) -> int:
        return sum(line.quantity * line.unit_price_cents for line in self.lines)

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "userId": self.user_id,
            "status": self.status,
            "createdAt": self.created_at,
            "lines": [line.to_json() for line in self.lines],
            "totalCents": self.total_cents,
            "currency": self.currency,
        }
