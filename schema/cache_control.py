"""Cache hints: how long, and for whom, each part of a response may be reused.

`@cacheControl` works as in Apollo Server: a field's hint, else its return
type's, gives a `maxAge` and a `scope`; a field returning a composite type
without a hint has `maxAge` 0 (not cacheable), while leaf fields and hints
with `inheritMaxAge` take their parent's. A response may be cached for the
smallest `maxAge` among the fields it selects, and only by the caller when any
of them is `PRIVATE`. The hints mirror the downstream services' own
`Cache-Control`, narrowed where the BFF shows less than a service returns
(a reviewer's name is public although the account behind it is private).
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
