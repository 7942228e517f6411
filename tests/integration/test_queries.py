"""Every query field against the seeded demo data."""

from __future__ import annotations

from tests.harness import Harness, signed_in
from tests.seed import DATA, rating_of

USER_ID = next(
    user_id
    for user_id in DATA.users
    if len(DATA.orders_by_user.get(user_id, ())) >= 2
    and len(DATA.reviews_by_author.get(user_id, ())) >= 2
)

USER_QUERY = """
query User($id: ID!) {
  user(id: $id) {
    id name email tier country createdAt
    orders(first: 2) {
      id status createdAt
      total { amount cents currency }
      lines { quantity unitPrice { amount cents currency } product { id sku } }
      user { id }
    }
    reviews(first: 2) { id rating body createdAt author { id } product { id name } }
  }
}
"""


async def test_user_with_orders_and_reviews(bff: Harness) -> None:
    reply = await bff.query(USER_QUERY, {"id": USER_ID}, headers=signed_in(USER_ID))

    user = DATA.users[USER_ID]
    data = reply.data["user"]
    assert "errors" not in reply.body
    assert data["id"] == USER_ID
    assert data["name"] == user.name
    assert data["email"] == user.email
    assert data["tier"] == user.tier.upper()
    assert data["country"] == user.country
    assert data["createdAt"] == user.created_at.replace("Z", "+00:00")
    orders = DATA.orders_by_user[USER_ID][:2]
    assert [order["id"] for order in data["orders"]] == [order.id for order in orders]
    first = data["orders"][0]
    assert first["total"] == {
        "amount": orders[0].total_cents / 100,
        "cents": orders[0].total_cents,
        "currency": "EUR",
    }
    assert first["user"] == {"id": USER_ID}
    line = orders[0].lines[0]
    assert first["lines"][0] == {
        "quantity": line.quantity,
        "unitPrice": {
            "amount": line.unit_price_cents / 100,
            "cents": line.unit_price_cents,
            "currency": "EUR",
        },
        "product": {"id": line.product_id, "sku": DATA.products[line.product_id].sku},
    }
    reviews = DATA.reviews_by_author[USER_ID][:2]
    assert [review["id"] for review in data["reviews"]] == [review.id for review in reviews]
    assert data["reviews"][0]["author"] == {"id": USER_ID}
    assert data["reviews"][0]["product"] == {
        "id": reviews[0].product_id,
        "name": DATA.products[reviews[0].product_id].name,
    }


PRODUCT_QUERY = """
query Product($id: ID!) {
  product(id: $id) {
    id sku name description imageUrl
    price { amount cents currency }
    category { id name parent { id name } }
    stock { available warehouse inStock }
    rating { average count }
    reviews(first: 1) { id createdAt }
  }
}
"""


async def test_product_with_everything_around_it(bff: Harness) -> None:
    product_id = next(
        pid for pid, p in DATA.products.items() if DATA.categories[p.category_id].parent_id
    )
    reply = await bff.query(PRODUCT_QUERY, {"id": product_id})

    product = DATA.products[product_id]
    category = DATA.categories[product.category_id]
    assert category.parent_id is not None
    parent = DATA.categories[category.parent_id]
    stock = DATA.stock[product_id]
    data = reply.data["product"]
    assert "errors" not in reply.body
    assert data == {
        "id": product_id,
        "sku": product.sku,
        "name": product.name,
        "description": product.description,
        "imageUrl": product.image_url,
        "price": {
            "amount": product.price_cents / 100,
            "cents": product.price_cents,
            "currency": "EUR",
        },
        "category": {
            "id": category.id,
            "name": category.name,
            "parent": {"id": parent.id, "name": parent.name},
        },
        "stock": {
            "available": stock.available,
            "warehouse": stock.warehouse,
            "inStock": stock.available > 0,
        },
        "rating": rating_of(product_id),
        "reviews": [
            {
                "id": review.id,
                "createdAt": review.created_at.replace("Z", "+00:00"),
            }
            for review in DATA.reviews_by_product[product_id][:1]
        ],
    }


async def test_top_level_category_has_no_parent(bff: Harness) -> None:
    reply = await bff.query('{ category(id: "c1") { id name parent { id } } }')

    assert reply.data == {
        "category": {"id": "c1", "name": DATA.categories["c1"].name, "parent": None}
    }


LISTING_QUERY = """
query Listing($category: ID, $first: Int!, $after: String) {
  products(category: $category, first: $first, after: $after) {
    edges { cursor node { id } }
    nodes { id }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def test_listing_pages_by_end_cursor_and_by_edge_cursor(bff: Harness) -> None:
    expected = [product.id for product in DATA.listings["c2"]]

    first = await bff.query(LISTING_QUERY, {"category": "c2", "first": 3})
    page = first.data["products"]
    assert [node["id"] for node in page["nodes"]] == expected[:3]
    assert [edge["node"]["id"] for edge in page["edges"]] == expected[:3]
    assert page["pageInfo"]["hasNextPage"] is True

    after_end = await bff.query(
        LISTING_QUERY,
        {"category": "c2", "first": 3, "after": page["pageInfo"]["endCursor"]},
    )
    after_first_edge = await bff.query(
        LISTING_QUERY,
        {"category": "c2", "first": 3, "after": page["edges"][0]["cursor"]},
    )

    assert [n["id"] for n in after_end.data["products"]["nodes"]] == expected[3:6]
    assert [n["id"] for n in after_first_edge.data["products"]["nodes"]] == expected[1:4]


async def test_walking_a_category_lists_each_product_once(bff: Harness) -> None:
    seen: list[str] = []
    after: str | None = None
    while True:
        reply = await bff.query(LISTING_QUERY, {"category": "c3", "first": 100, "after": after})
        page = reply.data["products"]
        seen += [node["id"] for node in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert seen == [product.id for product in DATA.listings["c3"]]


async def test_listing_without_category_lists_all_products(bff: Harness) -> None:
    reply = await bff.query(LISTING_QUERY, {"first": 5})

    assert [n["id"] for n in reply.data["products"]["nodes"]] == list(DATA.products)[:5]


async def test_order_by_id(bff: Harness) -> None:
    order = DATA.orders_by_user[USER_ID][0]
    reply = await bff.query(
        "query Order($id: ID!) { order(id: $id) { id status user { name } lines { quantity } } }",
        {"id": order.id},
        headers=signed_in(USER_ID),
    )

    assert reply.data["order"] == {
        "id": order.id,
        "status": order.status.upper(),
        "user": {"name": DATA.users[USER_ID].name},
        "lines": [{"quantity": line.quantity} for line in order.lines],
    }


async def test_me_is_null_when_anonymous_and_the_tokens_subject_otherwise(bff: Harness) -> None:
    anonymous = await bff.query("{ me { id } }")
    ada = await bff.query("{ me { id } }", headers=signed_in("u1"))

    assert anonymous.data == {"me": None}
    assert "errors" not in anonymous.body
    assert ada.data == {"me": {"id": "u1"}}


async def test_anonymous_recommendations_are_the_popular_list(bff: Harness) -> None:
    reply = await bff.query("{ recommendations(first: 3) { id } }")

    ids = [item["id"] for item in reply.data["recommendations"]]
    assert len(ids) == 3
    assert len(set(ids)) == 3
    assert all(product_id in DATA.products for product_id in ids)
