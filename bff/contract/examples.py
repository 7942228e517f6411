"""The reference operations (the tests' and the benchmark's load), and GraphiQL's example tabs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Example:
    name: str
    query: str
    variables: Mapping[str, object] = field(default_factory=dict)
    signed_in_as: str | None = None
    """The user whose bearer token the example is sent with, if any."""


PRODUCT_PAGE = Example(
    name="ProductPage",
    query="""query ProductPage($id: ID!) {
  product(id: $id) {
    id
    name
    price { amount currency }
    stock { available }
    rating { average count }
    category { name }
    reviews(first: 5) { rating body author { name } }
  }
}
""",
    variables={"id": "p1"},
)

CATEGORY_LISTING = Example(
    name="CategoryListing",
    query="""query CategoryListing($category: ID!) {
  products(category: $category, first: 50) {
    edges {
      node {
        id
        name
        price { amount currency }
        stock { available }
        category { name }
        rating { average count }
        reviews(first: 3) { rating author { name } }
      }
    }
  }
}
""",
    variables={"category": "c1"},
)

HOME_FEED = Example(
    name="HomeFeed",
    query="""query HomeFeed {
  me {
    name
    orders(first: 5) {
      status
      total { amount currency }
      lines {
        quantity
        product { name stock { available } rating { average } }
      }
    }
  }
  recommendations(first: 10) {
    name
    price { amount currency }
    rating { average }
  }
}
""",
    signed_in_as="u1",
)

REFERENCE_OPERATIONS = (PRODUCT_PAGE, CATEGORY_LISTING, HOME_FEED)

PLACE_ORDER = Example(
    name="PlaceOrder",
    query="""# Places an order as u1 (a new key places another);
# then follow it in the OrderStatus tab.
mutation PlaceOrder($key: String!) {
  placeOrder(input: { lines: [{ productId: "p1", quantity: 1 }] }, idempotencyKey: $key) {
    id
    status
    total { amount currency }
  }
}
""",
    variables={"key": "graphiql-1"},
    signed_in_as="u1",
)

ORDER_STATUS = Example(
    name="OrderStatus",
    query="""# Follows an order over a WebSocket until it is
# delivered; the demo moves it on every 10 s.
# o10034 is the first order PlaceOrder places.
subscription OrderStatus($orderId: ID!) {
  orderStatus(orderId: $orderId) {
    id
    status
    total { amount currency }
    lines { quantity product { name } }
  }
}
""",
    variables={"orderId": "o10034"},
    signed_in_as="u1",
)

PRODUCT_PAGE_DEFERRED = Example(
    name="ProductPageDeferred",
    query="""# ProductPage with its rating and reviews deferred: the
# name, price and stock arrive first, the rest as it comes
# (multipart/mixed; see docs/incremental-delivery.md).
query ProductPageDeferred($id: ID!) {
  product(id: $id) {
    id
    name
    price { amount currency }
    stock { available }
    category { name }
    ... @defer(label: "rating") { rating { average count } }
    ... @defer(label: "reviews") { reviews(first: 5) { rating body author { name } } }
  }
}
""",
    variables={"id": "p1"},
)

GRAPHIQL_TABS = (*REFERENCE_OPERATIONS, PRODUCT_PAGE_DEFERRED, PLACE_ORDER, ORDER_STATUS)
"""What GraphiQL opens with: the reference operations, the product page in parts, then
following an order live."""
