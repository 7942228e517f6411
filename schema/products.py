"""Products, their categories, stock and ratings, and product listings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import strawberry

import resolvers.products
from clients.catalog import CategoryRecord, ProductRecord
from clients.inventory import StockRecord
from clients.reviews import RatingSummaryRecord
from resolvers.listing import Listing
from resolvers.paths import FieldPath
from schema.batching import batched, converted
from schema.cache_control import INHERIT, private, public
from schema.experiments import FeatureGate
from schema.info import Info
from schema.money import Money

RELATED_PRODUCTS_FLAG = "related-products"

if TYPE_CHECKING:
    from schema.reviews import Review


@strawberry.type(description="A product category; categories form a tree.", directives=[public(60)])
class Category:
    id: strawberry.ID = strawberry.field(description="The category's id, e.g. c3.")
    name: str = strawberry.field(description="Its display name, e.g. Kitchen.")
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
    available: int = strawberry.field(description="Units ready to ship now; 0 when sold out.")
    warehouse: str = strawberry.field(
        description="Code of the warehouse the units ship from, e.g. AMS-1."
    )

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


async def _stocks(
    products: Sequence[Product], paths: Sequence[FieldPath], info: Info
) -> list[object]:
    found = await resolvers.products.get_stocks(info.context, [p.id for p in products], paths)
    return converted(found, Stock.from_record)


async def _ratings(
    products: Sequence[Product], paths: Sequence[FieldPath], info: Info
) -> list[object]:
    found = await resolvers.products.get_ratings(info.context, [p.id for p in products], paths)
    return converted(found, RatingSummary.from_record)


async def _categories(
    products: Sequence[Product], paths: Sequence[FieldPath], info: Info
) -> list[object]:
    ids = [product.category_id for product in products]
    found = await resolvers.products.get_categories(info.context, ids, paths)
    return converted(found, Category.from_record)


async def _reviews(
    products: Sequence[Product], paths: Sequence[FieldPath], info: Info, first: int = 5
) -> list[object]:
    from schema.reviews import Review

    ids = [product.id for product in products]
    found = await resolvers.products.get_reviews_of_each(info.context, ids, first, paths)
    return converted(found, lambda records: [Review.from_record(record) for record in records])


async def products_by_id(
    ids: Sequence[str], paths: Sequence[FieldPath], info: Info
) -> list[object]:
    """The batch form of a field that names a product by id (a review's, an order line's)."""
    found = await resolvers.products.get_products(info.context, ids, paths)
    return converted(found, Product.from_record)


@strawberry.type(description="Something the shop sells.", directives=[public(60)])
class Product:
    id: strawberry.ID = strawberry.field(description="The product's id, e.g. p1.")
    sku: str = strawberry.field(description="Stock-keeping unit, e.g. SKU-00001.")
    name: str = strawberry.field(description="Its display name.")
    description: str | None = strawberry.field(
        description="Text for the product page; null when the catalog has none."
    )
    price: Money = strawberry.field(description="The current price of one unit.")
    image_url: str | None = strawberry.field(
        description=(
            "URL of the product's picture, e.g. https://img.example.com/p1.jpg; null when it "
            "has none."
        )
    )
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

    @strawberry.field(
        description=(
            "The category the product is listed in; null when it has none or the catalog "
            "cannot answer."
        )
    )
    @batched(_categories)
    async def category(self, info: Info) -> Category | None:
        if self.category_id is None:
            return None
        record = await resolvers.products.get_category(info.context, self.category_id)
        return Category.from_record(record)

    @strawberry.field(description="Current stock; volatile, cached for seconds at most.")
    @batched(_stocks)
    async def stock(self, info: Info) -> Stock | None:
        return Stock.from_record(await resolvers.products.get_stock(info.context, self.id))

    @strawberry.field(
        description="Its reviews summed up; null when the reviews service cannot answer."
    )
    @batched(_ratings)
    async def rating(self, info: Info) -> RatingSummary | None:
        return RatingSummary.from_record(await resolvers.products.get_rating(info.context, self.id))

    @strawberry.field(
        description="The newest reviews first; null when the reviews service cannot answer."
    )
    @batched(_reviews)
    async def reviews(
        self,
        info: Info,
        first: Annotated[
            int,
            strawberry.argument(
                description=f"How many reviews, 1 to {resolvers.products.MAX_REVIEWS}."
            ),
        ] = 5,
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
    async def related(
        self,
        info: Info,
        first: Annotated[
            int,
            strawberry.argument(
                description=f"How many products at most, 1 to {resolvers.products.MAX_RELATED}."
            ),
        ] = 4,
    ) -> list[Product] | None:
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
    node: Product = strawberry.field(description="The product.")


@strawberry.type(description="Where a page of a listing ends.", directives=[INHERIT])
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="True when more products follow this page; fetch them with `endCursor`."
    )
    end_cursor: str | None = strawberry.field(
        description="The cursor of the last edge; pass as `after` for the next page."
    )


@strawberry.type(description="A page of products (Relay cursor connection).", directives=[INHERIT])
class ProductConnection:
    edges: list[ProductEdge] = strawberry.field(
        description="The page's products in id order, each with its cursor."
    )
    page_info: PageInfo = strawberry.field(description="Whether another page follows, and how.")

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
