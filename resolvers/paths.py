"""Which GraphQL fields a downstream read answered, for reports that name them.

The BFF uses it to say which fields carry stale data.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from typing import Protocol

FieldPath = tuple[str | int, ...]

FIELD_PATH: ContextVar[FieldPath | None] = ContextVar("bff_field_path", default=None)
"""The response path of the field whose resolver is running."""


class Waiting(Protocol):
    """A running loader batch: which fields wait on which of its keys."""

    def paths_for(self, ids: Sequence[str]) -> list[FieldPath]: ...


LOADING: ContextVar[Waiting | None] = ContextVar("bff_loading", default=None)


def paths_for(ids: Sequence[str]) -> list[FieldPath]:
    """The fields a read of `ids` answered, as far as the running task knows."""
    batch = LOADING.get()
    if batch is not None:
        return batch.paths_for(ids)
    path = FIELD_PATH.get()
    return [path] if path is not None else []
