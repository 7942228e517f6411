"""The cache policy of an operation, from the schema's `@cacheControl` hints.

Computed once per document and operation, before anything runs, over every
field the document selects (see `schema.cache_control` for the rules). A field
skipped at run time by `@skip`/`@include` or a null parent still counts, so
the policy can only be stricter than one computed from the fields actually
resolved, never looser.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    is_composite_type,
    visit,
)

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
        self._schema = schema
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

    def hints(self) -> tuple[Mapping[tuple[str, str], _Hint], Mapping[str, _Hint]]:
        """The hints read: by (type, field), and by type."""
        return self._fields, self._types

    def policy(self, document: DocumentNode, operation: OperationDefinitionNode) -> CachePolicy:
        if operation.operation != OperationType.QUERY:
            return NOT_CACHEABLE
        type_info = TypeInfo(self._schema)
        ages: list[int] = []
        private = False
        field_hints, type_hints = self._fields, self._types

        class Collect(Visitor):
            def enter_field(self, node: FieldNode, *_: object) -> None:
                nonlocal private
                parent = type_info.get_parent_type()
                field = type_info.get_field_def()
                if parent is None or field is None or node.name.value.startswith("__"):
                    return
                returns = get_named_type(field.type)
                field_hint = field_hints.get((parent.name, node.name.value))
                type_hint = type_hints.get(returns.name)
                private = private or any(
                    h is not None and h.private for h in (field_hint, type_hint)
                )
                own = field_hint if field_hint and field_hint.max_age is not None else type_hint
                if own is not None and own.max_age is not None:
                    ages.append(own.max_age)
                elif is_composite_type(returns) and not (own is not None and own.inherit):
                    ages.append(0)  # an object without a hint is not cacheable

        visit(document, TypeInfoVisitor(type_info, Collect()))
        return CachePolicy(max_age=min(ages, default=0), private=private)


def _hint_of(directives: object) -> _Hint | None:
    for directive in directives if isinstance(directives, list | tuple) else ():
        if isinstance(directive, CacheControl):
            return _Hint(
                max_age=directive.max_age,
                private=directive.scope == CacheScope.PRIVATE,
                inherit=bool(directive.inherit_max_age),
            )
    return None
