"""Orders: reading one, placing a new one, and following one's status."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing

from clients.errors import BadUserInput, Forbidden, Unauthenticated
from clients.orders import FINAL_STATUSES, LineRequest, OrderRecord
from resolvers.arguments import check_id, check_key, check_range, load_existing
from resolvers.context import Context

MAX_LINES = 50
MAX_QUANTITY = 999
MAX_KEY = 255


async def find_order(context: Context, order_id: str) -> OrderRecord:
    """The order a client asked for by id, if it is theirs (or they are an admin)."""
    check_id("id", order_id)
    if context.caller.user_id is None:
        raise Unauthenticated("Sign in first: orders are only shown to their owner.")
    order = await load_existing(context.loaders.orders, order_id, service="orders", kind="order")
    if not context.caller.may_see(order.user_id):
        raise Forbidden("Only the order's owner or an admin may see it.")
    return order


async def watch_order(context: Context, order_id: str) -> AsyncGenerator[OrderRecord]:
    """The order now, then each time its status changes, until it is delivered or cancelled.

    Who may watch an order is who may see it (`find_order`), checked here, before
    the first event, so a refusal ends the subscription before it starts.
    """
    return _changes(context, await find_order(context, order_id))


async def _changes(context: Context, order: OrderRecord) -> AsyncGenerator[OrderRecord]:
    yield order
    if order.status in FINAL_STATUSES:
        return
    changes = context.clients.orders.watch_order(order.id, seen=[order.status])
    async with aclosing(changes):
        async for changed in changes:
            yield changed


async def place_order(
    context: Context, lines: Sequence[LineRequest], idempotency_key: str
) -> OrderRecord:
    """Place an order for the caller; the key makes retries safe."""
    user_id = context.caller.user_id
    if user_id is None:
        raise Unauthenticated("placeOrder needs a signed-in caller")
    key = check_key("idempotencyKey", idempotency_key, max_length=MAX_KEY)
    if not 1 <= len(lines) <= MAX_LINES:
        raise BadUserInput(f"`input.lines` must hold 1 to {MAX_LINES} lines, got {len(lines)}")
    for index, line in enumerate(lines):
        check_id(f"input.lines[{index}].productId", line.product_id)
        check_range(f"input.lines[{index}].quantity", line.quantity, 1, MAX_QUANTITY)
    # Keys are the caller's own: scoped by user, two callers' keys can never collide.
    order = await context.clients.orders.create_order(
        user_id=user_id, lines=lines, idempotency_key=f"{user_id}:{key}"
    )
    # Placing the order took stock: what anyone has cached of it is out of date.
    await context.clients.inventory.forget_stock([line.product_id for line in lines])
    context.loaders.stock.clear_all()
    context.loaders.orders.clear_all()
    context.loaders.orders_by_user.clear_all()
    return order
