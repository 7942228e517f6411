"""orders (port 8105): orders by id or by user, idempotent placement, status events."""

import asyncio
from collections.abc import AsyncIterator, Mapping

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from demo.app import ContractRoute
from demo.http import ApiError, cached_json, json_response
from demo.params import json_object, limit
from demo.records import Order
from demo.store import IdempotencyKeyReused, InsufficientStock, Store

CACHE_CONTROL = "private, no-cache"
MAX_LINES = 100
HEARTBEAT_S = 15.0
"""Longest an event stream stays silent: then it sends a comment, so that readers
(and proxies) can tell a quiet stream from a dead one."""
HEARTBEAT = b": keep-alive\n\n"


class Orders:
    """`POST /orders` needs an `Idempotency-Key`.

    The first request with a key answers 201; repeating it answers 200 with the same
    order and takes no more stock; reusing the key for a different body is 422
    (`idempotency_key_reused`, as the IETF Idempotency-Key draft advises). A 409 or 422
    records nothing, so the same key can be retried. `GET /orders/{id}/events` streams
    the order as Server-Sent Events: its current state at once, then one event per
    status change, ending after `delivered` or `cancelled`, and a `: keep-alive`
    comment whenever it has sent nothing for `heartbeat_s` (None: never).
    """

    def __init__(self, store: Store, *, heartbeat_s: float | None = HEARTBEAT_S) -> None:
        self._store = store
        self._heartbeat_s = heartbeat_s
        self._users = store.data.users
        self._products = store.data.products

    def routes(self) -> list[ContractRoute]:
        return [
            ContractRoute("GET", "/orders/{id}", self.get_order),
            ContractRoute("GET", "/orders", self.get_orders),
            ContractRoute("POST", "/orders", self.post_order),
            ContractRoute("GET", "/orders/{id}/events", self.get_events),
        ]

    async def get_order(self, request: Request) -> Response:
        order = self._find(request.path_params["id"])
        return cached_json(request, self._store.order_document(order), CACHE_CONTROL)

    async def get_orders(self, request: Request) -> Response:
        user_id = request.query_params.get("userId")
        if not user_id:
            raise ApiError(400, "bad_request", "userId is required")
        orders = self._store.user_orders(user_id, limit(request, default=10, maximum=50))
        items = [self._store.order_document(order) for order in orders]
        return cached_json(request, {"items": items}, CACHE_CONTROL)

    async def post_order(self, request: Request) -> Response:
        key = request.headers.get("idempotency-key", "").strip()
        if not key:
            raise ApiError(400, "bad_request", "the Idempotency-Key header is required")
        user_id, lines = self._validate(await json_object(request))
        try:
            order, created = self._store.place_order(key, user_id, lines)
        except InsufficientStock as error:
            raise ApiError(409, "insufficient_stock", str(error)) from None
        except IdempotencyKeyReused:
            raise ApiError(
                422, "idempotency_key_reused", "this Idempotency-Key was used for another order"
            ) from None
        return json_response(
            self._store.order_document(order),
            201 if created else 200,
            headers={"Location": f"/orders/{order.id}", "Cache-Control": CACHE_CONTROL},
        )

    async def get_events(self, request: Request) -> Response:
        order = self._find(request.path_params["id"])
        return StreamingResponse(
            self._events(order),
            media_type="text/event-stream",
            headers={"Cache-Control": CACHE_CONTROL},
        )

    async def _events(self, order: Order) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        yield _event(order)
        beat = self._heartbeat_s
        sent = loop.time()
        while (wait := self._store.seconds_to_next_status(order)) is not None:
            if beat is not None:
                wait = min(wait, max(0.0, sent + beat - loop.time()))
            await asyncio.sleep(wait)
            current = self._find(order.id)
            if current.status != order.status:
                order = current
                yield _event(order)
                sent = loop.time()
            elif beat is not None and loop.time() >= sent + beat:
                yield HEARTBEAT
                sent = loop.time()

    def _find(self, order_id: str) -> Order:
        order = self._store.order(order_id)
        if order is None:
            raise ApiError(404, "not_found", f"no order {order_id}")
        return order

    def _validate(self, draft: Mapping[str, object]) -> tuple[str, list[tuple[str, int]]]:
        user_id = draft.get("userId")
        lines = draft.get("lines")
        if not isinstance(user_id, str) or user_id not in self._users:
            raise ApiError(422, "invalid", "userId must name an existing user")
        if not isinstance(lines, list) or not 1 <= len(lines) <= MAX_LINES:
            raise ApiError(422, "invalid", f"lines must be a list of 1 to {MAX_LINES} lines")
        checked = []
        for line in lines:
            product_id = line.get("productId") if isinstance(line, dict) else None
            quantity = line.get("quantity") if isinstance(line, dict) else None
            if not isinstance(product_id, str) or product_id not in self._products:
                raise ApiError(422, "invalid", "each line's productId must name a product")
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                raise ApiError(422, "invalid", "each line's quantity must be an integer >= 1")
            checked.append((product_id, quantity))
        return user_id, checked


def _event(order: Order) -> bytes:
    return b"data: " + orjson.dumps(order.to_json()) + b"\n\n"
