"""The GraphQL schema: the API's shape, one module per domain."""

from __future__ import annotations

import strawberry
from strawberry.schema.config import StrawberryConfig

from schema.mutation import Mutation
from schema.query import Query
from schema.subscription import Subscription


def build_schema() -> strawberry.Schema:
    # Incremental execution puts `@defer` and `@stream` in the schema
    # (docs/incremental-delivery.md); the BFF runs such documents itself.
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(enable_experimental_incremental_execution=True),
    )
