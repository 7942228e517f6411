"""Recommendations: products picked for the caller."""

from __future__ import annotations

import asyncio
from typing import Final

from clients.catalog import ProductRecord
from clients.recommendations import MODELS, Model
from resolvers.arguments import check_range
from resolvers.context import Context

MAX_RECOMMENDATIONS = 50
ANONYMOUS_USER = "anonymous"
"""Sent for callers without an identity; the service answers its cold-start list."""
MODEL_EXPERIMENT: Final = "recommendation-model"
"""The experiment whose variant names the model (`popular` or `similar`)."""
DEFAULT_MODEL: Final[Model] = "popular"


async def get_recommendations(
    context: Context, first: int, *, argument: str = "first"
) -> list[ProductRecord]:
    """Recommended products in the service's order; ids the catalog no longer has are skipped.

    The model is the caller's variant of `recommendation-model`; callers outside
    the experiment, and variants that name no model, get the default one.
    `argument` names the client's argument that gave `first`, for the error message.
    """
    check_range(argument, first, 1, MAX_RECOMMENDATIONS)
    model = await _model(context)
    user_id = context.caller.user_id or ANONYMOUS_USER
    picked = await context.loaders.recommendations.load((user_id, model, first))
    products = await asyncio.gather(
        *(context.loaders.products.load(product_id) for product_id in picked.product_ids)
    )
    return [product for product in products if product is not None]


async def _model(context: Context) -> Model:
    variant = await context.experiments.variant(MODEL_EXPERIMENT)
    return next((model for model in MODELS if model == variant), DEFAULT_MODEL)
