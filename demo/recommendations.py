"""recommendations (port 8106): product ids for one user, by model."""

import itertools
from collections import Counter
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from demo.app import ContractRoute
from demo.http import ApiError, cached_json
from demo.params import limit
from demo.records import sequence_number
from demo.store import Store

CACHE_CONTROL = "private, max-age=60"
MODELS: Final = ("popular", "similar")
_ORDER_HISTORY = 50  # how many of a user's latest orders `similar` looks at


class Recommendations:
    """`popular`: the most-reviewed products (counting reviews posted since start-up).
    `similar`: the products of the categories a user ordered from most, most-reviewed
    first (by the generated reviews), leaving out what they already bought.

    A user with no orders, an unknown id or an anonymous caller gets `popular` (the
    usual cold start), and the answer's `model` says so.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        data = store.data
        self._users = data.users
        self._products = data.products
        # Most reviewed first, ties by id; the store's new reviews are merged in per request.
        self._ranking = sorted(data.products, key=self._rank)
        self._ranking_by_category: dict[str, list[str]] = {}
        for product_id in self._ranking:
            category = data.products[product_id].category_id
            self._ranking_by_category.setdefault(category, []).append(product_id)

    def routes(self) -> list[ContractRoute]:
        return [ContractRoute("GET", "/recommendations/{userId}", self.get_recommendations)]

    async def get_recommendations(self, request: Request) -> Response:
        model = request.query_params.get("model", "popular")
        if model not in MODELS:
            raise ApiError(400, "bad_request", f"model must be one of {', '.join(MODELS)}")
        size = limit(request, default=10, maximum=50)
        user_id = request.path_params["userId"]
        product_ids = self._similar(user_id, size) if model == "similar" else None
        if product_ids is None:
            model, product_ids = "popular", self._popular(size)
        return cached_json(request, {"productIds": product_ids, "model": model}, CACHE_CONTROL)

    def _rank(self, product_id: str) -> tuple[int, int]:
        return -self._store.rating(product_id)[0], sequence_number(product_id)

    def _popular(self, size: int) -> list[str]:
        # A product outside the generated top (size + k) cannot overtake into the top
        # `size` unless it is one of the k reviewed since, so only those need ranking.
        recent = self._store.rated_products()
        candidates = {*self._ranking[: size + len(recent)], *recent}
        return sorted(candidates, key=self._rank)[:size]

    def _similar(self, user_id: str, size: int) -> list[str] | None:
        if user_id not in self._users:
            return None
        orders = self._store.user_orders(user_id, _ORDER_HISTORY)
        bought = {line.product_id for order in orders for line in order.lines}
        if not bought:
            return None
        categories = Counter(self._products[product_id].category_id for product_id in bought)
        picks: list[str] = []
        for category, _ in categories.most_common():
            fresh = (p for p in self._ranking_by_category[category] if p not in bought)
            picks.extend(itertools.islice(fresh, size - len(picks)))
            if len(picks) == size:
                return picks
        # Only when the user bought nearly everything in their categories.
        chosen = {*bought, *picks}
        picks.extend(p for p in self._ranking if p not in chosen)
        return picks[:size]
