"""Products, their categories, stock and ratings, and product listings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

import resolvers.products
from clients.catalog import CategoryRecord, ProductRecord
from clients.inventory import StockRecord
from clients.reviews import RatingSummaryRecord
from resolvers.listing import Listing
from schema.cache_control import INHERIT, private, public
from schema.experiments import FeatureGate
from schema.info import Info
from schema.money import Money

RELATED_PRODUCTS_FLAG = "related-products"

if TYPE_CHECKING:
    from schema.reviews import Review


@strawberry.type(description="A product category; categories form a tree.", directives=[public(60)])
class Category:
    id: strawberry.ID
    name: str
    parent_id: strawberry.Private[str | None]

    @classmethod
    def from_record(cls, record: CategoryRecord) -> Category:
        return cls(id=strawberry.ID(record.id), name=record.name, parent_id=record.parent_id)

    @strawberry.field(description="The enclosing category; null for a top-level one.")
    async def parent(self, info: Info) -> Category | None:
        if self.parent_id is None:
            return None
        return Category.from_record(
            await resolvers.products.get_category(info.context, self.parent_id)
        )


@strawberry.type(
    description="How many units are ready to ship, and from where.", directives=[public(5)]
)
class Stock:
    available: int
    warehouse: str

    @strawberry.field(description="True when at least one unit is available.")
    def in_stock(self) -> bool:
        return self.available > 0

    @classmethod
    def from_record(cls, record: StockRecord) -> Stock:
        return cls(available=record.available, warehouse=record.warehouse)


@strawberry.type(
    description="What reviewers think of a product, summed up.", directives=[public(30)]
)
class RatingSummary:
    average: float | None = strawberry.field(
        description="Mean rating from 1 to 5, rounded to two decimals; null without reviews."
    )
    count: int = strawberry.field(description="How many reviews the product has.")

    @classmethod
    def from_record(cls, record: RatingSummaryRecord) -> RatingSummary:
        return cls(average=record.average, count=record.count)


@strawberry.type(description="Something the shop sells.", directives=[public(60)])
class Product:
    id: strawberry.ID
    sku: str = strawberry.field(description="Stock-keeping unit, e.g. SKU-00001.")
    name: str
    description: str | None
    price: Money
    image_url: str | None
    category_id: strawberry.Private[str | None]

    @classmethod
    def from_record(cls, record: ProductRecord) -> Product:
        return cls(
            id=strawberry.ID(record.id),
            sku=record.sku,
            name=record.name,
            description=record.description,
            price=Money.of(record.price_cents, record.currency),
            image_url=record.image_url,
            category_id=record.category_id,
        )

    @strawberry.field(
        description="The price in cents, as the first app versions read it.",
        deprecation_reason=(
            "Use `price { amount currency }`: priceCents says nothing of the currency "
            "and assumes a hundredth as the minor unit."
        ),
    )
    def price_cents(self) -> int:
        return self.price.cents

    @strawberry.field
    async def category(self, info: Info) -> Category | None:
        if self.category_id is None:
            return None
        record = await resolvers.products.get_category(info.context, self.category_id)
        return Category.from_record(record)

    @strawberry.field(description="Current stock; volatile, cached for seconds at most.")
    async def stock(self, info: Info) -> Stock | None:
        return Stock.from_record(await resolvers.products.get_stock(info.context, self.id))

    @strawberry.field
    async def rating(self, info: Info) -> RatingSummary | None:
        return RatingSummary.from_record(await resolvers.products.get_rating(info.context, self.id))

    @strawberry.field(
        description="The newest reviews first; null when the reviews service cannot answer."
    )
    async def reviews(
        self, info: Info, first: int = 5
    ) -> list[Annotated[Review, strawberry.lazy("schema.reviews")]] | None:
        from schema.reviews import Review

        records = await resolvers.products.get_reviews_of(info.context, self.id, first)
        return [Review.from_record(record) for record in records]

    @strawberry.field(
        description=(
            "Other products of the same category, behind the `related-products` flag: "
            "null with FEATURE_DISABLED for callers it is off for."
        ),
        extensions=[FeatureGate(RELATED_PRODUCTS_FLAG)],
        directives=[private(60)],
    )
    async def related(self, info: Info, first: int = 4) -> list[Product] | None:
        records = await resolvers.products.get_related(
            info.context, self.id, self.category_id, first
        )
        return [Product.from_record(record) for record in records]


@strawberry.type(
    description="One product in a listing, with the cursor that points after it.",
    directives=[INHERIT],
)
class ProductEdge:
    cursor: str = strawberry.field(description="Pass as `after` to continue after this product.")
    node: Product


@strawberry.type(directives=[INHERIT])
class PageInfo:
    has_next_page: bool
    end_cursor: str | None = strawberry.field(
        description="The cursor of the last edge; pass as `after` for the next page."
    )


@strawberry.type(description="A page of products (Relay cursor connection).", directives=[INHERIT])
class ProductConnection:
    edges: list[ProductEdge]
    page_info: PageInfo

    @strawberry.field(description="The page's products without their cursors.")
    def nodes(self) -> list[Product]:
        return [edge.node for edge in self.edges]

    @classmethod
    def from_listing(cls, listing: Listing) -> ProductConnection:
        return cls(
            edges=[
                ProductEdge(cursor=edge.cursor, node=Product.from_record(edge.product))
                for edge in listing.edges
            ],
            page_info=PageInfo(has_next_page=listing.has_next_page, end_cursor=listing.end_cursor),
        )
