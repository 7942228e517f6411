"""catalog (port 8102): products by id, in batches or listed by category; categories."""

import base64
import binascii
import bisect
import re

from starlette.requests import Request
from starlette.responses import Response

from demo.app import ContractRoute
from demo.http import ApiError, cached_json
from demo.params import limit, optional_ids
from demo.records import sequence_number
from demo.store import Store

CACHE_CONTROL = "public, max-age=60"
_PRODUCT_ID = re.compile(r"p[1-9][0-9]{0,8}")


class Catalog:
    """Listings are in product id order and paged by an opaque cursor.

    The cursor is the base64url of the last product id on the page, so a page starts
    after that id whatever changed before it; a listing filtered by an unknown
    category is empty, not an error. `category` filters on the product's own
    category, without descendants.
    """

    def __init__(self, store: Store) -> None:
        data = store.data
        self._products = data.products
        self._categories = data.categories
        self._documents = data.documents
        self._listings = data.listings
        # Sequence numbers per listing, for finding where a cursor resumes.
        self._positions = {
            key: [sequence_number(product.id) for product in listing]
            for key, listing in data.listings.items()
        }

    def routes(self) -> list[ContractRoute]:
        return [
            ContractRoute("GET", "/products/{id}", self.get_product),
            ContractRoute("GET", "/products", self.get_products),
            ContractRoute("GET", "/categories/{id}", self.get_category),
        ]

    async def get_product(self, request: Request) -> Response:
        product_id = request.path_params["id"]
        if product_id not in self._products:
            raise ApiError(404, "not_found", f"no product {product_id}")
        return cached_json(request, self._documents[product_id], CACHE_CONTROL)

    async def get_category(self, request: Request) -> Response:
        category_id = request.path_params["id"]
        if category_id not in self._categories:
            raise ApiError(404, "not_found", f"no category {category_id}")
        return cached_json(request, self._documents[category_id], CACHE_CONTROL)

    async def get_products(self, request: Request) -> Response:
        batch = optional_ids(request, "ids")
        if batch is None:
            return self._list(request)
        if {"category", "cursor", "limit"} & request.query_params.keys():
            raise ApiError(400, "bad_request", "ids cannot be combined with category or paging")
        found = [self._documents[i] for i in batch if i in self._products]
        return cached_json(request, {"items": found}, CACHE_CONTROL)

    def _list(self, request: Request) -> Response:
        size = limit(request, default=20, maximum=100)
        category = request.query_params.get("category")
        listing = self._listings.get(category, ())
        cursor = request.query_params.get("cursor")
        start = 0
        if cursor is not None:
            start = bisect.bisect_right(self._positions.get(category, []), _decode(cursor))
        page = listing[start : start + size]
        more = start + size < len(listing)
        body = {
            "items": [self._documents[product.id] for product in page],
            "nextCursor": _encode(page[-1].id) if more else None,
        }
        return cached_json(request, body, CACHE_CONTROL)


def _encode(product_id: str) -> str:
    return base64.urlsafe_b64encode(product_id.encode()).decode().rstrip("=")


def _decode(cursor: str) -> int:
    """The sequence number of the product a cursor points after; 400 when malformed."""
    try:
        product_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        product_id = ""
    if not _PRODUCT_ID.fullmatch(product_id):
        raise ApiError(400, "bad_request", "cursor is not one this service issued")
    return sequence_number(product_id)
