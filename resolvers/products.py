"""Products and what hangs off a product: category, stock, rating, reviews."""

from __future__ import annotations

from collections.abc import Sequence

from clients.catalog import CategoryRecord, ProductRecord
from clients.inventory import StockRecord
from clients.reviews import RatingSummaryRecord, ReviewRecord
from resolvers.arguments import check_id, check_range, load_existing
from resolvers.context import Context

MAX_REVIEWS = 50


async def find_product(context: Context, product_id: str) -> ProductRecord:
    """The product a client asked for by id."""
    return await get_product(context, check_id("id", product_id))


async def find_category(context: Context, category_id: str) -> CategoryRecord:
    """The category a client asked for by id."""
    return await get_category(context, check_id("id", category_id))


async def get_product(context: Context, product_id: str) -> ProductRecord:
    return await load_existing(
        context.loaders.products, product_id, service="catalog", kind="product"
    )


async def get_category(context: Context, category_id: str) -> CategoryRecord:
    return await load_existing(
        context.loaders.categories, category_id, service="catalog", kind="category"
    )


async def get_stock(context: Context, product_id: str) -> StockRecord:
    return await load_existing(
        context.loaders.stock, product_id, service="inventory", kind="stock record for product"
    )


async def get_rating(context: Context, product_id: str) -> RatingSummaryRecord:
    return await load_existing(
        context.loaders.ratings, product_id, service="reviews", kind="rating summary for product"
    )


async def get_reviews_of(context: Context, product_id: str, first: int) -> Sequence[ReviewRecord]:
    check_range("first", first, 1, MAX_REVIEWS)
    return await context.loaders.reviews_by_product.load((product_id, first))


MAX_RELATED = 20


async def get_related(
    context: Context, product_id: str, category_id: str | None, first: int
) -> list[ProductRecord]:
    """Up to `first` other products of the product's category, in catalog order."""
    check_range("first", first, 1, MAX_RELATED)
    if category_id is None:
        return []
    page = await context.clients.catalog.list_products(
        category_id=category_id, limit=first + 1, cursor=None
    )
    return [product for product in page.items if product.id != product_id][:first]
