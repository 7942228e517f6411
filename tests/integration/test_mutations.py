"""addReview and placeOrder, end to end through the demo services."""

from __future__ import annotations

from demo.data import generate
from tests.harness import Harness, signed_in

DATA = generate()

ADD_REVIEW = """
mutation AddReview($input: AddReviewInput!) {
  addReview(input: $input) {
    id rating body createdAt
    author { id name }
    product { id rating { count } reviews(first: 1) { id } }
  }
}
"""

PLACE_ORDER = """
mutation PlaceOrder($input: PlaceOrderInput!, $key: String!) {
  placeOrder(input: $input, idempotencyKey: $key) {
    id status
    total { cents currency }
    lines { quantity product { id stock { available } } }
    user { id }
  }
}
"""


async def test_add_review_writes_as_the_caller_and_shows_fresh_data(bff: Harness) -> None:
    before = len(DATA.reviews_by_product["p2"])

    reply = await bff.query(
        ADD_REVIEW,
        {"input": {"productId": "p2", "rating": 4, "body": "  Sturdy and quiet.  "}},
        headers=signed_in("u3"),
    )

    review = reply.data["addReview"]
    assert "errors" not in reply.body
    assert review["rating"] == 4
    assert review["body"] == "Sturdy and quiet."
    assert review["author"] == {"id": "u3", "name": DATA.users["u3"].name}
    assert review["product"]["rating"] == {"count": before + 1}
    assert review["product"]["reviews"] == [{"id": review["id"]}]


async def test_add_review_refuses_bad_input_before_calling_the_service(bff: Harness) -> None:
    bad_rating = await bff.query(
        ADD_REVIEW,
        {"input": {"productId": "p2", "rating": 6, "body": "x"}},
        headers=signed_in("u3"),
    )
    empty_body = await bff.query(
        ADD_REVIEW,
        {"input": {"productId": "p2", "rating": 3, "body": "   "}},
        headers=signed_in("u3"),
    )

    assert bad_rating.body["data"] is None
    assert bad_rating.error_at("addReview")["message"] == (
        "`input.rating` must be between 1 and 5, got 6"
    )
    assert bad_rating.codes() == ["BAD_USER_INPUT"]
    assert empty_body.error_at("addReview")["message"] == "`input.body` must not be empty"
    assert bff.demo["reviews"].stats.total() == 0


async def test_add_review_for_an_unknown_product_is_bad_user_input(bff: Harness) -> None:
    reply = await bff.query(
        ADD_REVIEW,
        {"input": {"productId": "p999999", "rating": 3, "body": "?"}},
        headers=signed_in("u3"),
    )

    assert reply.codes() == ["BAD_USER_INPUT"]
    assert reply.error_at("addReview")["extensions"] == {
        "code": "BAD_USER_INPUT",
        "service": "reviews",
    }


async def test_mutations_need_a_caller(bff: Harness) -> None:
    review = await bff.query(ADD_REVIEW, {"input": {"productId": "p2", "rating": 3, "body": "x"}})
    order = await bff.query(
        PLACE_ORDER, {"input": {"lines": [{"productId": "p2", "quantity": 1}]}, "key": "k"}
    )

    assert review.codes() == ["UNAUTHENTICATED"]
    assert order.codes() == ["UNAUTHENTICATED"]


async def test_place_order_is_idempotent_per_key(bff: Harness) -> None:
    product_id = next(pid for pid, stock in DATA.stock.items() if stock.available >= 3)
    available = DATA.stock[product_id].available
    variables = {"input": {"lines": [{"productId": product_id, "quantity": 2}]}, "key": "order-1"}

    first = await bff.query(PLACE_ORDER, variables, headers=signed_in("u1"))
    again = await bff.query(PLACE_ORDER, variables, headers=signed_in("u1"))

    order = first.data["placeOrder"]
    assert "errors" not in first.body
    assert order["status"] == "PLACED"
    assert order["user"] == {"id": "u1"}
    assert order["total"] == {
        "cents": 2 * DATA.products[product_id].price_cents,
        "currency": "EUR",
    }
    assert order["lines"] == [
        {"quantity": 2, "product": {"id": product_id, "stock": {"available": available - 2}}}
    ]
    assert again.data["placeOrder"]["id"] == order["id"]
    assert again.data["placeOrder"]["lines"][0]["product"]["stock"] == {"available": available - 2}
    keys = [record.headers.get("idempotency-key") for record in bff.demo["orders"].stats.recent()]
    assert keys.count("u1:order-1") == 2


async def test_place_order_beyond_stock_is_a_conflict(bff: Harness) -> None:
    product_id = next(pid for pid, stock in DATA.stock.items() if stock.available == 0)

    reply = await bff.query(
        PLACE_ORDER,
        {"input": {"lines": [{"productId": product_id, "quantity": 1}]}, "key": "k-2"},
        headers=signed_in("u1"),
    )

    assert reply.body["data"] is None
    assert reply.codes() == ["CONFLICT"]


async def test_place_order_checks_lines_and_key(bff: Harness) -> None:
    no_lines = await bff.query(
        PLACE_ORDER, {"input": {"lines": []}, "key": "k"}, headers=signed_in("u1")
    )
    zero = await bff.query(
        PLACE_ORDER,
        {"input": {"lines": [{"productId": "p1", "quantity": 0}]}, "key": "k"},
        headers=signed_in("u1"),
    )
    blank_key = await bff.query(
        PLACE_ORDER,
        {"input": {"lines": [{"productId": "p1", "quantity": 1}]}, "key": " "},
        headers=signed_in("u1"),
    )

    assert (
        no_lines.error_at("placeOrder")["message"] == "`input.lines` must hold 1 to 50 lines, got 0"
    )
    assert zero.error_at("placeOrder")["message"] == (
        "`input.lines[0].quantity` must be between 1 and 999, got 0"
    )
    assert blank_key.error_at("placeOrder")["message"] == (
        "`idempotencyKey` must be non-blank printable ASCII"
    )
    assert bff.demo["orders"].stats.total() == 0


async def test_idempotency_keys_are_scoped_to_the_caller(bff: Harness) -> None:
    variables = {"input": {"lines": [{"productId": "p5", "quantity": 1}]}, "key": "checkout-1"}

    first = await bff.query(PLACE_ORDER, variables, headers=signed_in("u1"))
    other = await bff.query(PLACE_ORDER, variables, headers=signed_in("u2"))

    assert "errors" not in first.body
    assert "errors" not in other.body
    assert other.data["placeOrder"]["id"] != first.data["placeOrder"]["id"]
    assert other.data["placeOrder"]["user"] == {"id": "u2"}


async def test_keys_that_cannot_travel_as_a_header_are_refused(bff: Harness) -> None:
    for key in ("ключ", "a\nb", "x" * 256):
        reply = await bff.query(
            PLACE_ORDER,
            {"input": {"lines": [{"productId": "p5", "quantity": 1}]}, "key": key},
            headers=signed_in("u1"),
        )
        assert reply.codes() == ["BAD_USER_INPUT"], key
    assert bff.demo["orders"].stats.total() == 0


async def test_a_second_order_in_the_same_request_sees_the_first(bff: Harness) -> None:
    product_id = next(pid for pid, stock in DATA.stock.items() if stock.available >= 5)
    available = DATA.stock[product_id].available
    two_orders = """
    mutation Two($line: OrderLineInput!) {
      first: placeOrder(input: {lines: [$line]}, idempotencyKey: "two-1") {
        lines { product { stock { available } } }
      }
      second: placeOrder(input: {lines: [$line]}, idempotencyKey: "two-2") {
        lines { product { stock { available } } }
        user { orders(first: 2) { id } }
      }
    }
    """

    reply = await bff.query(
        two_orders, {"line": {"productId": product_id, "quantity": 2}}, headers=signed_in("u1")
    )

    first = reply.data["first"]["lines"][0]["product"]["stock"]["available"]
    second = reply.data["second"]["lines"][0]["product"]["stock"]["available"]
    assert (first, second) == (available - 2, available - 4)
    assert len(reply.data["second"]["user"]["orders"]) == 2
