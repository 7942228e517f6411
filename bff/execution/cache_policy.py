"""The cache policy of an operation, from the schema's `@cacheControl` hints.

Tallied by the analysis walk (`bff.execution.analysis`) once per document and
operation (see docs/caching.md, Responses).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from graphql import GraphQLNamedType, GraphQLSchema, OperationType, is_composite_type

from schema.cache_control import CacheControl, CacheScope


@dataclass(frozen=True, slots=True)
class CachePolicy:
    max_age: int
    private: bool

    @property
    def shared(self) -> bool:
        """May one stored response be served to every caller?"""
        return self.max_age > 0 and not self.private

    def header(self) -> str:
        """The `Cache-Control` value that tells HTTP caches the same."""
        if self.max_age <= 0:
            return "no-store"
        return f"{'private' if self.private else 'public'}, max-age={self.max_age}"


NOT_CACHEABLE = CachePolicy(max_age=0, private=False)


@dataclass(frozen=True, slots=True)
class _Hint:
    max_age: int | None
    private: bool
    inherit: bool


class CachePolicies:
    """Reads the hints off a schema once; computes the policy of any operation."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self._types: dict[str, _Hint] = {}
        self._fields: dict[tuple[str, str], _Hint] = {}
        for name, graphql_type in schema.type_map.items():
            definition = graphql_type.extensions.get("strawberry-definition")
            hint = _hint_of(getattr(definition, "directives", ()))
            if hint is not None:
                self._types[name] = hint
            for field_name, field in getattr(graphql_type, "fields", {}).items():
                field_definition = field.extensions.get("strawberry-definition")
                field_hint = _hint_of(getattr(field_definition, "directives", ()))
                if field_hint is not None:
                    self._fields[(name, field_name)] = field_hint

    def tally(self) -> PolicyTally:
        """A tally to tell one document's fields to, field by field."""
        return PolicyTally(self._fields, self._types)


class PolicyTally:
    """The policy of the fields a document selects, as a walk meets them
    (`bff.execution.analysis`): the smallest max-age, private if any is."""

    __slots__ = ("_ages", "_fields", "_types", "private")

    def __init__(self, fields: Mapping[tuple[str, str], _Hint], types: Mapping[str, _Hint]) -> None:
        self._fields = fields
        self._types = types
        self._ages: list[int] = []
        self.private = False

    def field(self, parent: str, name: str, returns: GraphQLNamedType) -> None:
        field_hint = self._fields.get((parent, name))
        type_hint = self._types.get(returns.name)
        self.private = self.private or any(
            h is not None and h.private for h in (field_hint, type_hint)
        )
        own = field_hint if field_hint and field_hint.max_age is not None else type_hint
        if own is not None and own.max_age is not None:
            self._ages.append(own.max_age)
        elif is_composite_type(returns) and not (own is not None and own.inherit):
            self._ages.append(0)  # an object without a hint is not cacheable

    def policy(self, operation_type: OperationType) -> CachePolicy:
        if operation_type != OperationType.QUERY:
            return NOT_CACHEABLE
        return CachePolicy(max_age=min(self._ages, default=0), private=self.private)


def _hint_of(directives: object) -> _Hint | None:
    for directive in directives if isinstance(directives, list | tuple) else ():
        if isinstance(directive, CacheControl):
            return _Hint(
                max_age=directive.max_age,
                private=directive.scope == CacheScope.PRIVATE,
                inherit=bool(directive.inherit_max_age),
            )
    return None
