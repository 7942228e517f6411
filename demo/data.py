"""Deterministic demo data: 1,000 users, 5,000 products, ~50,000 reviews, ~10,000 orders.

`generate(seed)` draws everything from one `random.Random(seed)` and a fixed 2024
timeline (never the wall clock), so the same seed names the same ids with the same
content on every machine. The result is cached per seed and immutable; the services
layer their writes over it in a `Store`.

Two distributions are deliberately skewed, as on a real shop:

- Product popularity is log-normal: a few products collect many reviews and orders,
  a few collect none (so `average: null` occurs).
- Review authorship follows a Zipf-Mandelbrot law over a shuffled ranking of users
  (the weight of rank k is 1 / (k + 5) ** 1.2): the top 1% of users write over a
  fifth of the reviews, the top 10% nearly two thirds, the median user about 15.
  An author reviews a product at most once. As a consequence the 3 newest reviews
  of a 50-product category page name 76-95 distinct authors (seed 42: 79 for c1),
  where uniformly drawn authors would name about 120.
"""

import bisect
import calendar
import functools
import gc
import itertools
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, TypeVar

import orjson

from demo import vocabulary
from demo.records import (
    CURRENCY,
    Category,
    Order,
    OrderLine,
    OrderStatus,
    Product,
    Review,
    Stock,
    Tier,
    User,
)

USER_COUNT: Final = 1_000
PRODUCT_COUNT: Final = 5_000
CATEGORY_COUNT: Final = 20
REVIEW_COUNT: Final = 50_000
MAX_ORDERS_PER_USER: Final = 20

DAY: Final = 86_400
START: Final = calendar.timegm((2024, 1, 1, 0, 0, 0))
# The dataset's "now": no review or order is newer.
END: Final = calendar.timegm((2024, 12, 31, 0, 0, 0))

ZIPF_EXPONENT: Final = 1.2
ZIPF_OFFSET: Final = 5

ADA: Final = User(
    id="u1",
    name="Ada Lovelace",
    email="ada@example.com",
    tier="gold",
    country="GB",
    created_at="2024-01-02T03:04:05Z",
)

T = TypeVar("T")
Entity = User | Category | Product | Review | Order


@dataclass(frozen=True, slots=True)
class DemoData:
    """Everything the services read. Sequences of reviews and orders are newest first."""

    seed: int
    users: Mapping[str, User]
    categories: Mapping[str, Category]
    products: Mapping[str, Product]
    # Products in id order, by category id; the key None lists every product.
    listings: Mapping[str | None, tuple[Product, ...]]
    stock: Mapping[str, Stock]
    # Every product id is a key (an empty tuple when nobody reviewed it).
    reviews_by_product: Mapping[str, tuple[Review, ...]]
    # (count, sum of ratings) for every product id.
    ratings: Mapping[str, tuple[int, int]]
    # Only users who wrote reviews are keys.
    reviews_by_author: Mapping[str, tuple[Review, ...]]
    orders: Mapping[str, Order]
    # Only users who placed orders are keys.
    orders_by_user: Mapping[str, tuple[Order, ...]]
    # The wire form of every user, category, product, review and order, by id, encoded
    # once so that answering costs a copy rather than a serialisation.
    documents: Mapping[str, orjson.Fragment]


def timestamp(seconds: int) -> str:
    """Unix seconds in the contract's ISO-8601 UTC form, `2024-01-02T03:04:05Z`."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


@functools.lru_cache(maxsize=8)
def generate(seed: int = 42) -> DemoData:
    # Everything built here lives as long as the cache entry, so the collector's passes
    # over the growing heap would find nothing; pausing it cuts generation time by ~30%.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _generate(seed)
    finally:
        if paused:
            gc.enable()


def _generate(seed: int) -> DemoData:
    rng = random.Random(seed)
    users, joined = _users(rng)
    categories = _categories()
    products = _products(rng)
    stock = [
        Stock(
            product.id,
            0 if rng.random() < 0.08 else rng.randint(1, 60),
            rng.choice(vocabulary.WAREHOUSES),
        )
        for product in products
    ]
    popularity = list(itertools.accumulate(rng.lognormvariate(0, 1) for _ in products))
    reviews = _reviews(rng, users, joined, products, popularity)
    orders = _orders(rng, users, joined, products, popularity)

    listings: dict[str | None, tuple[Product, ...]] = {None: tuple(products)}
    listings.update(_group(products, lambda product: product.category_id))
    entities: list[Entity] = [*users, *categories, *products, *reviews, *orders]
    newest_reviews = reviews[::-1]
    by_product = {product.id: () for product in products} | _group(
        newest_reviews, lambda review: review.product_id
    )
    return DemoData(
        seed=seed,
        users=MappingProxyType({user.id: user for user in users}),
        categories=MappingProxyType({category.id: category for category in categories}),
        products=MappingProxyType({product.id: product for product in products}),
        listings=MappingProxyType(listings),
        stock=MappingProxyType({record.product_id: record for record in stock}),
        reviews_by_product=MappingProxyType(by_product),
        ratings=MappingProxyType(
            {key: (len(group), sum(r.rating for r in group)) for key, group in by_product.items()}
        ),
        reviews_by_author=MappingProxyType(_group(newest_reviews, lambda r: r.author_id)),
        orders=MappingProxyType({order.id: order for order in orders}),
        orders_by_user=MappingProxyType(_group(orders[::-1], lambda order: order.user_id)),
        documents=MappingProxyType(
            {entity.id: orjson.Fragment(orjson.dumps(entity.to_json())) for entity in entities}
        ),
    )


def _group(records: Sequence[T], key: Callable[[T], str]) -> dict[str, tuple[T, ...]]:
    groups: dict[str, list[T]] = {}
    for record in records:
        groups.setdefault(key(record), []).append(record)
    return {name: tuple(members) for name, members in groups.items()}


def _users(rng: random.Random) -> tuple[list[User], list[int]]:
    """The users, and when each joined (Unix seconds) so nothing of theirs predates it."""
    tiers: tuple[Tier, ...] = ("gold", "silver", "standard")
    users = [ADA]
    joined = [calendar.timegm((2024, 1, 2, 3, 4, 5))]
    for number in range(2, USER_COUNT + 1):
        first = rng.choice(vocabulary.FIRST_NAMES)
        last = rng.choice(vocabulary.LAST_NAMES)
        local = re.sub(r"[^a-z.]", "", f"{first}.{last}".lower())
        joined.append(START + rng.randrange(120 * DAY))
        users.append(
            User(
                id=f"u{number}",
                name=f"{first} {last}",
                email=f"{local}{number}@example.com",
                tier=rng.choices(tiers, weights=(10, 25, 65))[0],
                country=rng.choice(vocabulary.COUNTRIES),
                created_at=timestamp(joined[-1]),
            )
        )
    return users, joined


def _categories() -> list[Category]:
    top = [
        Category(f"c{number}", name, None)
        for number, name in enumerate(vocabulary.TOP_CATEGORIES, start=1)
    ]
    offset = len(top) + 1
    children = [
        Category(f"c{number}", name, f"c{(number - offset) % len(top) + 1}")
        for number, name in enumerate(vocabulary.SUB_CATEGORIES, start=offset)
    ]
    return top + children


def _products(rng: random.Random) -> list[Product]:
    names = (*vocabulary.TOP_CATEGORIES, *vocabulary.SUB_CATEGORIES)
    products = []
    for number in range(1, PRODUCT_COUNT + 1):
        category = (number - 1) % CATEGORY_COUNT
        nouns, euros = vocabulary.PRODUCT_KINDS[names[category]]
        noun = rng.choice(nouns)
        model = f"{rng.choice('ABCDEFHKLMNPRSTVX')}{rng.randint(1, 9)}0"
        price = max(1, round(euros * rng.lognormvariate(0, 0.45)))
        products.append(
            Product(
                id=f"p{number}",
                sku=f"SKU-{number:05d}",
                name=f"{rng.choice(vocabulary.ADJECTIVES)} {noun} {model}",
                description=rng.choice(vocabulary.DESCRIPTIONS).format(noun=noun.lower()),
                category_id=f"c{category + 1}",
                price_cents=price * 100 - 1,
                currency=CURRENCY,
                image_url=f"https://img.example.com/p{number}.jpg",
            )
        )
    return products


def _reviews(
    rng: random.Random,
    users: Sequence[User],
    joined: Sequence[int],
    products: Sequence[Product],
    popularity: Sequence[float],
) -> list[Review]:
    """Reviews in creation order: Zipf-Mandelbrot authors, log-normal product popularity."""
    ranking = list(range(len(users)))
    rng.shuffle(ranking)
    author_weights = list(
        itertools.accumulate(
            (rank + ZIPF_OFFSET) ** -ZIPF_EXPONENT for rank in range(1, len(users) + 1)
        )
    )
    quality = [rng.gauss(0, 0.6) for _ in products]
    targets = rng.choices(range(len(products)), cum_weights=popularity, k=REVIEW_COUNT)
    authors = rng.choices(ranking, cum_weights=author_weights, k=REVIEW_COUNT)
    # Every body is one of a few hundred sentences pairs: build each string once.
    bodies = [
        [f"{opening} {detail}" for opening in openings for detail in vocabulary.REVIEW_DETAILS]
        for openings in vocabulary.REVIEW_OPENINGS
    ]
    uniform, gauss = rng.random, rng.gauss
    reviewed: set[tuple[int, int]] = set()
    drafts = []
    for product, drawn in zip(targets, authors, strict=True):
        author = drawn
        retries = 0
        while (author, product) in reviewed and retries < 10:
            author = ranking[bisect.bisect(author_weights, uniform() * author_weights[-1])]
            retries += 1
        if (author, product) in reviewed:
            continue  # a very prolific author on a popular product: no review rather than two
        reviewed.add((author, product))
        rating = min(5, max(1, round(gauss(4.0 + quality[product], 1.1))))
        choices = bodies[rating - 1]
        created = joined[author] + int(uniform() * (END - joined[author]))
        drafts.append((created, product, author, rating, choices[int(uniform() * len(choices))]))
    drafts.sort(key=lambda draft: draft[0])
    return [
        Review(
            f"r{number}",
            products[product].id,
            users[author].id,
            rating,
            body,
            timestamp(created),
        )
        for number, (created, product, author, rating, body) in enumerate(drafts, start=1)
    ]


def _orders(
    rng: random.Random,
    users: Sequence[User],
    joined: Sequence[int],
    products: Sequence[Product],
    popularity: Sequence[float],
) -> list[Order]:
    """0-20 orders a user in creation order; only the last few days' are still under way."""
    # Mostly one or two lines of one item each; sampled from tables for speed.
    line_counts = (1,) * 10 + (2,) * 6 + (3,) * 3 + (4,)
    quantities = (1,) * 15 + (2,) * 4 + (3,)
    uniform = rng.random
    drafts: list[tuple[int, int, tuple[OrderLine, ...]]] = []
    for index in range(len(users)):
        for _ in range(rng.randint(0, MAX_ORDERS_PER_USER)):
            count = line_counts[int(uniform() * len(line_counts))]
            picks = dict.fromkeys(rng.choices(products, cum_weights=popularity, k=count))
            lines = tuple(
                OrderLine(
                    product.id,
                    quantities[int(uniform() * len(quantities))],
                    product.price_cents,
                )
                for product in picks
            )
            created = joined[index] + int(uniform() * (END - joined[index]))
            drafts.append((created, index, lines))
    drafts.sort(key=lambda draft: draft[0])
    return [
        Order(
            id=f"o{number}",
            user_id=users[index].id,
            status=_status(END - created, rng),
            created_at=timestamp(created),
            lines=lines,
        )
        for number, (created, index, lines) in enumerate(drafts, start=1)
    ]


def _status(age: int, rng: random.Random) -> OrderStatus:
    if age < DAY:
        return "placed"
    if age < 2 * DAY:
        return "paid"
    if age < 4 * DAY:
        return "shipped"
    return "cancelled" if rng.random() < 0.05 else "delivered"
