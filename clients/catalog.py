"""The catalog service: products and categories."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from clients.base import PerId, ServiceClient, firsts
from clients.decoding import JsonObject, integer, objects, optional_text, text


@dataclass(frozen=True, slots=True)
class ProductRecord:
    id: str
    sku: str
    name: str
    description: str | None
    category_id: str | None
    price_cents: int
    currency: str
    image_url: str | None

    @classmethod
    def from_json(cls, obj: JsonObject) -> ProductRecord:
        return cls(
            id=text(obj, "id"),
            sku=text(obj, "sku"),
            name=text(obj, "name"),
            description=optional_text(obj, "description"),
            category_id=optional_text(obj, "categoryId"),
            price_cents=integer(obj, "priceCents"),
            currency=text(obj, "currency"),
            image_url=optional_text(obj, "imageUrl"),
        )


@dataclass(frozen=True, slots=True)
class CategoryRecord:
    id: str
    name: str
    parent_id: str | None

    @classmethod
    def from_json(cls, obj: JsonObject) -> CategoryRecord:
        return cls(
            id=text(obj, "id"), name=text(obj, "name"), parent_id=optional_text(obj, "parentId")
        )


@dataclass(frozen=True, slots=True)
class ProductPage:
    """One page of a product listing; `next_cursor` is None on the last page."""

    items: tuple[ProductRecord, ...]
    next_cursor: str | None

    @classmethod
    def from_json(cls, obj: JsonObject) -> ProductPage:
        return cls(
            items=tuple(ProductRecord.from_json(item) for item in objects(obj, "items")),
            next_cursor=optional_text(obj, "nextCursor"),
        )


class CatalogClient(ServiceClient):
    async def get_product(self, product_id: str) -> ProductRecord:
        return await self.get(
            "/products/{id}",
            ProductRecord.from_json,
            resource="product",
            key=product_id,
            path={"id": product_id},
        )

    async def get_products(self, product_ids: Sequence[str]) -> PerId[ProductRecord]:
        """The products found, by id; unknown ids are left out."""
        found = await self.get_batch(
            "/products", "ids", product_ids, ProductRecord.from_json, _id, resource="products"
        )
        return firsts(found)

    async def list_products(
        self, *, category_id: str | None, limit: int, cursor: str | None
    ) -> ProductPage:
        params = {"limit": str(limit)}
        if category_id is not None:
            params["category"] = category_id
        if cursor is not None:
            params["cursor"] = cursor
        return await self.get(
            "/products",
            ProductPage.from_json,
            resource="listing",
            key=category_id or "",
            variant=(limit, cursor),
            params=params,
        )

    async def get_category(self, category_id: str) -> CategoryRecord:
        return await self.get(
            "/categories/{id}",
            CategoryRecord.from_json,
            resource="category",
            key=category_id,
            path={"id": category_id},
        )


def _id(product: ProductRecord) -> str:
    return product.id
