"""The reference operations: GraphiQL's example tabs, the tests' and the benchmark's load."""

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
