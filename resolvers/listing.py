"""Cursor pagination of product listings over the catalog's page cursors.

An edge cursor names a catalog page start plus how many of its items to skip.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import orjson

from clients.catalog import ProductRecord
from clients.errors import BadUserInput
from resolvers.arguments import check_id, check_range
from resolvers.context import Context

MAX_FIRST = 100
"""Largest page a frontend may ask for; also the catalog's largest `limit`."""


@dataclass(frozen=True, slots=True)
class Edge:
    cursor: str
    product: ProductRecord


@dataclass(frozen=True, slots=True)
class Listing:
    edges: tuple[Edge, ...]
    has_next_page: bool

    @property
    def end_cursor(self) -> str | None:
        return self.edges[-1].cursor if self.edges else None


def encode_cursor(page_cursor: str | None, skip: int) -> str:
    raw = orjson.dumps([page_cursor, skip])
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[str | None, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        page_cursor, skip = orjson.loads(raw)
    except (binascii.Error, ValueError, TypeError) as error:
        raise BadUserInput("`after` is not a cursor issued by this API") from error
    valid_page = page_cursor is None or isinstance(page_cursor, str)
    if not valid_page or not isinstance(skip, int) or not 0 <= skip <= MAX_FIRST:
        raise BadUserInput("`after` is not a cursor issued by this API")
    return page_cursor, skip


async def list_products(
    context: Context, category_id: str | None, first: int, after: str | None
) -> Listing:
    check_range("first", first, 1, MAX_FIRST)
    if category_id is not None:
        check_id("category", category_id)
    page_cursor, skip = decode_cursor(after) if after is not None else (None, 0)
    page = await context.clients.catalog.list_products(
        category_id=category_id, limit=min(MAX_FIRST, skip + first), cursor=page_cursor
    )
    for product in page.items:
        context.loaders.products.prime(product.id, product)
    taken = page.items[skip : skip + first]
    rest_of_page = len(page.items) > skip + len(taken)
    edges = [
        Edge(encode_cursor(page_cursor, skip + index + 1), product)
        for index, product in enumerate(taken)
    ]
    if edges and not rest_of_page and page.next_cursor is not None:
        edges[-1] = Edge(encode_cursor(page.next_cursor, 0), edges[-1].product)
    return Listing(tuple(edges), has_next_page=rest_of_page or page.next_cursor is not None)
