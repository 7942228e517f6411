"""Checks on arguments, raising `BadUserInput` with a message naming the argument."""

from __future__ import annotations

from typing import TypeVar

from clients.errors import NotFound
from resolvers.errors import BadUserInput
from resolvers.loaders import Loader

_T = TypeVar("_T")


def check_range(name: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise BadUserInput(f"`{name}` must be between {low} and {high}, got {value}")
    return value


def check_text(name: str, value: str, *, max_length: int) -> str:
    stripped = value.strip()
    if not stripped:
        raise BadUserInput(f"`{name}` must not be empty")
    if len(stripped) > max_length:
        raise BadUserInput(f"`{name}` must be at most {max_length} characters, got {len(stripped)}")
    return stripped


async def load_existing(loader: Loader[str, _T | None], key: str, *, service: str, kind: str) -> _T:
    """Load a record that must exist: a missing id is a NOT_FOUND error on the field."""
    record = await loader.load(key)
    if record is None:
        raise NotFound(service, f"No {kind} with id {key!r}")
    return record
