"""Products and what hangs off a product: category, stock, rating, reviews."""

from __future__ import annotations

from collections.abc import Sequence

from clients.catalog import CategoryRecord, ProductRecord
from clients.inventory import StockRecord
from clients.reviews import RatingSummaryRecord, ReviewRecord
from resolvers.arguments import (
    check_id,
    check_range,
    load_each,
    load_existing,
    load_existing_each,
)
from resolvers.context import Context
from resolvers.paths import FieldPath

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


# The same reads for every object of a level at once (`schema.batching`): each
# object's record, or the error that failed it.


async def get_products(
    context: Context, product_ids: Sequence[str], paths: Sequence[FieldPath]
) -> list[ProductRecord | Exception]:
    return await load_existing_each(
        context.loaders.products, product_ids, paths, service="catalog", kind="product"
    )


async def get_categories(
    context: Context, category_ids: Sequence[str | None], paths: Sequence[FieldPath]
) -> list[CategoryRecord | Exception | None]:
    """Each product's category; None for a product that has none."""
    wanted = [index for index, category_id in enumerate(category_ids) if category_id is not None]
    found = await load_existing_each(
        context.loaders.categories,
        [category_ids[index] or "" for index in wanted],
        [paths[index] for index in wanted],
        service="catalog",
        kind="category",
    )
    categories: list[CategoryRecord | Exception | None] = [None] * len(category_ids)
    for index, record in zip(wanted, found, strict=True):
        categories[index] = record
    return categories


async def get_stocks(
    context: Context, product_ids: Sequence[str], paths: Sequence[FieldPath]
) -> list[StockRecord | Exception]:
    return await load_existing_each(
        context.loaders.stock,
        product_ids,
        paths,
        service="inventory",
        kind="stock record for product",
    )


async def get_ratings(
    context: Context, product_ids: Sequence[str], paths: Sequence[FieldPath]
) -> list[RatingSummaryRecord | Exception]:
    return await load_existing_each(
        context.loaders.ratings,
        product_ids,
        paths,
        service="reviews",
        kind="rating summary for product",
    )


async def get_reviews_of_each(
    context: Context, product_ids: Sequence[str], first: int, paths: Sequence[FieldPath]
) -> list[tuple[ReviewRecord, ...] | Exception]:
    check_range("first", first, 1, MAX_REVIEWS)
    keys = [(product_id, first) for product_id in product_ids]
    return await load_each(context.loaders.reviews_by_product, keys, paths)


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
