"""Expected values computed from the demo's seeded data."""

from __future__ import annotations

from demo.data import generate

DATA = generate()


def rating_of(product_id: str) -> dict[str, object]:
    """What `Product.rating { average count }` should say for a seeded product."""
    reviews = DATA.reviews_by_product[product_id]
    if not reviews:
        return {"average": None, "count": 0}
    return {
        "average": round(sum(review.rating for review in reviews) / len(reviews), 2),
        "count": len(reviews),
    }


def price_of(product_id: str) -> dict[str, object]:
    """What `Product.price { amount currency }` should say for a seeded product."""
    product = DATA.products[product_id]
    return {"amount": product.price_cents / 100, "currency": product.currency}
