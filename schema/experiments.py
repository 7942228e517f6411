"""Experiments and feature flags as the frontend sees them, and fields behind a flag."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension

from clients.errors import FeatureDisabled
from resolvers.experiments import FlagState
from schema.info import Info


@strawberry.type(description="The variant of a running experiment this caller is served.")
class ExperimentAssignment:
    name: str = strawberry.field(description="The experiment, e.g. recommendation-model.")
    variant: str = strawberry.field(description="The caller's variant of it, e.g. similar.")


@strawberry.type(description="A feature flag as it stands for this caller.")
class FeatureFlag:
    name: str = strawberry.field(description="The flag, e.g. related-products.")
    enabled: bool = strawberry.field(description="Whether the feature is on for this caller.")
    variant: str | None = strawberry.field(
        description="For flags with variants: the caller's; null for plain on/off flags."
    )

    @classmethod
    def from_state(cls, state: FlagState) -> FeatureFlag:
        return cls(name=state.name, enabled=state.enabled, variant=state.variant)


class FeatureGate(FieldExtension):
    """Resolves the field only for callers the flag is on for; others get null.

    A gated field's answer depends on who asks, so give it a `private` cache
    hint: a shared cache must never hand one caller's answer to another.
    """

    def __init__(self, flag: str) -> None:
        super().__init__()
        self.flag = flag

    async def resolve_async(
        self,
        next_: Callable[..., Awaitable[Any]],
        source: Any,
        info: Info,
        **kwargs: Any,
    ) -> Any:
        state = await info.context.experiments.flag(self.flag)
        if not state.enabled:
            raise FeatureDisabled(
                f"`{info.path.typename}.{info.field_name}` is not available to this caller "
                f"(feature flag `{self.flag}` is off)."
            )
        return await next_(source, info, **kwargs)
