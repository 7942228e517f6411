"""Cache hints: how long, and for whom, each part of a response may be reused.

See docs/caching.md, Responses.
"""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.schema_directive import Location


@strawberry.enum(description="Who may reuse a cached response.")
class CacheScope(Enum):
    PUBLIC = strawberry.enum_value("PUBLIC", description="Any cache may serve it to any caller.")
    PRIVATE = strawberry.enum_value(
        "PRIVATE", description="Only the caller's own cache may keep it, e.g. their browser's."
    )


@strawberry.schema_directive(
    locations=[Location.OBJECT, Location.FIELD_DEFINITION],
    name="cacheControl",
    description="How long, and for whom, this type or field may be cached.",
)
class CacheControl:
    max_age: int | None = None
    scope: CacheScope | None = None
    inherit_max_age: bool | None = None


INHERIT = CacheControl(inherit_max_age=True)
PRIVATE = CacheControl(scope=CacheScope.PRIVATE)


def public(max_age: int) -> CacheControl:
    return CacheControl(max_age=max_age, scope=CacheScope.PUBLIC)


def private(max_age: int) -> CacheControl:
    return CacheControl(max_age=max_age, scope=CacheScope.PRIVATE)
