"""The GraphQL schema: the API's shape, one module per domain."""

from __future__ import annotations

import strawberry

from schema.mutation import Mutation
from schema.query import Query
from schema.subscription import Subscription


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription)
