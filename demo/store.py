"""The writable layer over the immutable demo data: new reviews, new orders, stock taken.

One `Store` belongs to one set of services built together (so placing an order lowers
the stock the inventory service reports), and two sets never share one, so tests that
write cannot see each other.

Order status is computed when read rather than advanced by a timer: an order moves one
step along placed -> paid -> shipped -> delivered every `order_step_seconds`, counted
from its placement for orders placed here and from the store's creation for generated
orders that were still under way. Cancelled and delivered orders never change.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import orjson

from demo.data import DemoData, timestamp
from demo.records import (
    ORDER_PROGRESS,
    TERMINAL_STATUSES,
    Order,
    OrderLine,
    Review,
)


class InsufficientStock(Exception):
    def __init__(self, product_id: str, requested: int, available: int) -> None:
        super().__init__(f"{product_id}: {requested} requested, {available} available")
        self.product_id = product_id


class IdempotencyKeyReused(Exception):
    """The key was already used for a different request."""


@dataclass(frozen=True, slots=True)
class _Placement:
    order: Order  # as placed; its status is the starting point
    since: float  # clock reading from which its status advances
    request: tuple[str, tuple[tuple[str, int], ...]]  # what the idempotency key stands for


class Store:
    def __init__(
        self,
        data: DemoData,
        *,
        order_step_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if order_step_seconds <= 0:
            raise ValueError("order_step_seconds must be positive")
        self.data = data
        self._step = order_step_seconds
        self._clock = clock
        self._wall_clock = wall_clock
        self._started = clock()
        # Newest last; a review's or order's wire form is encoded once, when written.
        self._reviews_by_product: dict[str, list[Review]] = {}
        self._reviews_by_author: dict[str, list[Review]] = {}
        self._ratings: dict[str, tuple[int, int]] = {}  # product id -> (count, sum)
        self._review_documents: dict[str, orjson.Fragment] = {}
        # Generated ids are contiguous, so new ones continue after the last.
        self._last_review = sum(count for count, _ in data.ratings.values())
        self._taken: dict[str, int] = {}
        self._placements: dict[str, _Placement] = {}
        self._orders_by_user: dict[str, list[str]] = {}
        self._idempotency: dict[str, str] = {}  # key -> order id
        self._last_order = len(data.orders)

    # Reviews

    def add_review(self, product_id: str, author_id: str, rating: int, body: str) -> Review:
        self._last_review += 1
        review = Review(
            f"r{self._last_review}",
            product_id,
            author_id,
            rating,
            body,
            timestamp(int(self._wall_clock())),
        )
        self._reviews_by_product.setdefault(product_id, []).append(review)
        self._reviews_by_author.setdefault(author_id, []).append(review)
        count, total = self._ratings.get(product_id, (0, 0))
        self._ratings[product_id] = (count + 1, total + rating)
        self._review_documents[review.id] = orjson.Fragment(orjson.dumps(review.to_json()))
        return review

    def product_reviews(self, product_id: str, limit: int) -> Sequence[Review]:
        """A product's newest `limit` reviews, newest first."""
        return _newest(
            self._reviews_by_product.get(product_id),
            self.data.reviews_by_product.get(product_id, ()),
            limit,
        )

    def author_reviews(self, author_id: str, limit: int) -> Sequence[Review]:
        return _newest(
            self._reviews_by_author.get(author_id),
            self.data.reviews_by_author.get(author_id, ()),
            limit,
        )

    def rating(self, product_id: str) -> tuple[int, int]:
        """How many reviews a product has and the sum of their ratings."""
        count, total = self.data.ratings.get(product_id, (0, 0))
        added_count, added_total = self._ratings.get(product_id, (0, 0))
        return count + added_count, total + added_total

    def rated_products(self) -> Sequence[str]:
        """Products reviewed through this store, oldest first."""
        return list(self._ratings)

    def review_document(self, review: Review) -> orjson.Fragment:
        return self.data.documents.get(review.id) or self._review_documents[review.id]

    # Stock

    def available(self, product_id: str) -> int:
        return self.data.stock[product_id].available - self._taken.get(product_id, 0)

    # Orders

    def place_order(
        self, key: str, user_id: str, lines: Sequence[tuple[str, int]]
    ) -> tuple[Order, bool]:
        """The order for an idempotency key and whether it was created now.

        The first request with a key takes the stock and creates the order; repeating
        it returns the same order (in its current state) and takes nothing. Products
        and users must exist. A failed request leaves no trace, so it can be retried.
        """
        request = (user_id, tuple(lines))
        if key in self._idempotency:
            placement = self._placements[self._idempotency[key]]
            if placement.request != request:
                raise IdempotencyKeyReused(key)
            return self._current(placement.order, placement.since), False
        wanted: dict[str, int] = {}
        for product_id, quantity in lines:
            wanted[product_id] = wanted.get(product_id, 0) + quantity
        for product_id, quantity in wanted.items():
            if quantity > self.available(product_id):
                raise InsufficientStock(product_id, quantity, self.available(product_id))
        for product_id, quantity in wanted.items():
            self._taken[product_id] = self._taken.get(product_id, 0) + quantity
        self._last_order += 1
        products = self.data.products
        order = Order(
            id=f"o{self._last_order}",
            user_id=user_id,
            status=ORDER_PROGRESS[0],
            created_at=timestamp(int(self._wall_clock())),
            lines=tuple(
                OrderLine(product_id, quantity, products[product_id].price_cents)
                for product_id, quantity in lines
            ),
        )
        self._placements[order.id] = _Placement(order, self._clock(), request)
        self._orders_by_user.setdefault(user_id, []).append(order.id)
        self._idempotency[key] = order.id
        return order, True

    def order(self, order_id: str) -> Order | None:
        """The order in its current status, or None."""
        placement = self._placements.get(order_id)
        if placement is not None:
            return self._current(placement.order, placement.since)
        order = self.data.orders.get(order_id)
        return None if order is None else self._current(order, self._started)

    def user_orders(self, user_id: str, limit: int) -> list[Order]:
        """A user's newest `limit` orders, newest first."""
        placed = self._orders_by_user.get(user_id, [])
        orders = [
            self._current(self._placements[order_id].order, self._placements[order_id].since)
            for order_id in placed[::-1][:limit]
        ]
        if len(orders) < limit:
            generated = self.data.orders_by_user.get(user_id, ())[: limit - len(orders)]
            orders.extend(self._current(order, self._started) for order in generated)
        return orders

    def seconds_to_next_status(self, order: Order) -> float | None:
        """How long `order` (as just read) keeps its status; None once it is final."""
        if order.status in TERMINAL_STATUSES:
            return None
        placement = self._placements.get(order.id)
        since = self._started if placement is None else placement.since
        elapsed = self._clock() - since
        return max(0.0, (int(elapsed / self._step) + 1) * self._step - elapsed)

    def order_document(self, order: Order) -> orjson.Fragment:
        generated = self.data.orders.get(order.id)
        if generated is not None and generated.status == order.status:
            return self.data.documents[order.id]
        return orjson.Fragment(orjson.dumps(order.to_json()))

    def _current(self, order: Order, since: float) -> Order:
        if order.status in TERMINAL_STATUSES:
            return order
        steps = int((self._clock() - since) / self._step)
        if steps == 0:
            return order
        index = min(ORDER_PROGRESS.index(order.status) + steps, len(ORDER_PROGRESS) - 1)
        return replace(order, status=ORDER_PROGRESS[index])


def _newest(
    added: list[Review] | None, generated: tuple[Review, ...], limit: int
) -> Sequence[Review]:
    if not added:
        return generated[:limit]
    return [*added[::-1], *generated[:limit]][:limit]
