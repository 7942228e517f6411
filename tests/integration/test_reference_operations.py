"""The three reference operations: right data for seeded ids, and batched call counts.

Expected values come from the demo's seeded data; downstream calls are counted
by the demo services themselves.
"""

from __future__ import annotations

import math
from urllib.parse import parse_qs

import httpx

from bff.contract.examples import CATEGORY_LISTING, HOME_FEED, PRODUCT_PAGE
from tests.harness import running_bff
from tests.seed import DATA, price_of, rating_of

# Cold counts: the shared downstream cache off, so every read reaches a service.
BATCHED = {"BFF_DOWNSTREAM_CACHE": "false"}
NAIVE = {"BFF_DOWNSTREAM_CACHE": "false", "BFF_BATCHING": "false"}


async def test_product_page_answers_from_every_service() -> None:
    async with running_bff(BATCHED) as bff:
        reply = await bff.run(PRODUCT_PAGE, id="p1")
        calls = bff.calls_by_route()
    async with running_bff(NAIVE) as naive_bff:
        naive_reply = await naive_bff.run(PRODUCT_PAGE, id="p1")
        naive = naive_bff.calls()

    product = DATA.products["p1"]
    newest = DATA.reviews_by_product["p1"][:5]
    assert reply.status == 200
    assert "errors" not in reply.body
    assert reply.data["product"] == {
        "id": "p1",
        "name": product.name,
        "price": price_of("p1"),
        "stock": {"available": DATA.stock["p1"].available},
        "rating": rating_of("p1"),
        "category": {"name": DATA.categories[product.category_id].name},
        "reviews": [
            {
                "rating": review.rating,
                "body": review.body,
                "author": {"name": DATA.users[review.author_id].name},
            }
            for review in newest
        ],
    }
    assert naive_reply.body == reply.body
    # field by field: product, stock, rating, category, reviews, then one user per review
    assert naive == 5 + len(newest)
    assert calls == {
        "catalog GET /products": 1,
        "catalog GET /categories/{id}": 1,
        "inventory GET /stock": 1,
        "reviews GET /reviews/summary": 1,
        "reviews GET /reviews": 1,
        "accounts GET /users": 1,
    }


async def test_category_listing_batches_each_kind_of_read() -> None:
    async with running_bff(BATCHED) as bff:
        reply = await bff.run(CATEGORY_LISTING, category="c1")
        batched = bff.calls()
        by_route = bff.calls_by_route()
    async with running_bff(NAIVE) as naive_bff:
        naive_reply = await naive_bff.run(CATEGORY_LISTING, category="c1")
        naive = naive_bff.calls()

    listed = DATA.listings["c1"][:50]
    nodes = [edge["node"] for edge in reply.data["products"]["edges"]]
    assert "errors" not in reply.body
    assert [node["id"] for node in nodes] == [product.id for product in listed]
    first = nodes[0]
    assert first["stock"] == {"available": DATA.stock[listed[0].id].available}
    assert first["rating"] == rating_of(listed[0].id)
    assert first["category"] == {"name": DATA.categories["c1"].name}
    assert first["price"] == price_of(listed[0].id)
    assert [review["rating"] for review in first["reviews"]] == [
        review.rating for review in DATA.reviews_by_product[listed[0].id][:3]
    ]
    assert naive_reply.body == reply.body

    reviews = [review for product in listed for review in DATA.reviews_by_product[product.id][:3]]
    authors = {review.author_id for review in reviews}
    categories = {product.category_id for product in listed}
    # products, stock, summaries, reviews, one users batch per 100 authors, each category
    assert batched == 4 + math.ceil(len(authors) / 100) + len(categories)
    assert by_route["catalog GET /categories/{id}"] == len(categories)
    assert batched <= 5 + len(categories)
    # field by field: the listing, then four calls per product and one per review author
    assert naive == 1 + 4 * len(listed) + len(reviews)


async def test_home_feed_for_a_signed_in_user() -> None:
    async with running_bff(BATCHED) as bff:
        reply = await bff.run(HOME_FEED)
        batched = bff.calls()
        # The model is u1's variant of the demo's recommendation-model experiment.
        (call,) = bff.demo["recommendations"].stats.recent()
        model = parse_qs(call.query)["model"][0]
        recommended = await recommendations_for(bff.demo["recommendations"].app, "u1", model)
    async with running_bff(NAIVE) as naive_bff:
        naive_reply = await naive_bff.run(HOME_FEED)
        naive = naive_bff.calls()

    orders = DATA.orders_by_user["u1"][:5]
    me = reply.data["me"]
    assert "errors" not in reply.body
    assert me["name"] == "Ada Lovelace"
    assert [order["status"] for order in me["orders"]] == [order.status.upper() for order in orders]
    first_line = me["orders"][0]["lines"][0]
    product_id = orders[0].lines[0].product_id
    assert first_line == {
        "quantity": orders[0].lines[0].quantity,
        "product": {
            "name": DATA.products[product_id].name,
            "stock": {"available": DATA.stock[product_id].available},
            "rating": {"average": rating_of(product_id)["average"]},
        },
    }
    assert [item["name"] for item in reply.data["recommendations"]] == [
        DATA.products[product_id].name for product_id in recommended
    ]
    assert naive_reply.body == reply.body
    assert batched <= 8
    lines = sum(len(order.lines) for order in orders)
    # me, orders and recommendations; per line: product, stock, rating; per pick: product, rating
    assert naive == 3 + 3 * lines + 2 * len(recommended)


async def recommendations_for(app: object, user_id: str, model: str) -> list[str]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://recs") as http:
        answer = await http.get(f"/recommendations/{user_id}", params={"limit": 10, "model": model})
    product_ids = answer.json()["productIds"]
    assert isinstance(product_ids, list)
    return product_ids
