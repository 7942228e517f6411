"""Checks on arguments, raising `BadUserInput` with a message naming the argument."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Hashable, Sequence
from typing import TypeVar

from clients.errors import BadUserInput, NotFound
from resolvers.loaders import Loader
from resolvers.paths import FIELD_PATH, FieldPath

_T = TypeVar("_T")
_K = TypeVar("_K", bound=Hashable)
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]+")


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


def check_id(name: str, value: str) -> str:
    """Ids are short words (`p1`, `u42`); anything else would not survive a URL intact."""
    if not _ID.fullmatch(value):
        raise BadUserInput(f"`{name}` must be an id such as p1: 1 to 64 letters, digits, _ or -")
    return value


def check_key(name: str, value: str, *, max_length: int) -> str:
    """A client-chosen key sent on as a header: printable ASCII only."""
    if not _PRINTABLE_ASCII.fullmatch(value) or not value.strip():
        raise BadUserInput(f"`{name}` must be non-blank printable ASCII")
    if len(value) > max_length:
        raise BadUserInput(f"`{name}` must be at most {max_length} characters, got {len(value)}")
    return value


async def load_existing(loader: Loader[str, _T | None], key: str, *, service: str, kind: str) -> _T:
    """Load a record that must exist: a missing id is a NOT_FOUND error on the field.

    `key` is trusted (it came from a record); ids a client sent are checked by
    the `find_*` resolvers first.
    """
    record = await loader.load(key)
    if record is None:
        raise NotFound(service, f"No {kind} with id {key!r}")
    return record


async def load_each(
    loader: Loader[_K, _T], keys: Sequence[_K], paths: Sequence[FieldPath]
) -> list[_T | Exception]:
    """Load many keys for the objects of a level: each key's value, or why it failed.

    Each load is made as the field at its path (`FIELD_PATH`), so the loader
    knows which field a read answered, as when the field loads on its own.
    """
    futures: list[Awaitable[_T]] = []
    for key, path in zip(keys, paths, strict=True):
        token = FIELD_PATH.set(path)
        try:
            futures.append(loader.load(key))
        finally:
            FIELD_PATH.reset(token)
    found: list[_T | Exception] = []
    for future in futures:
        try:
            found.append(await future)
        except Exception as error:  # one key's failure is its object's alone
            found.append(error)
    return found


async def load_existing_each(
    loader: Loader[str, _T | None],
    keys: Sequence[str],
    paths: Sequence[FieldPath],
    *,
    service: str,
    kind: str,
) -> list[_T | Exception]:
    """`load_existing` for the objects of a level at once: a record each, or its error."""
    found = await load_each(loader, keys, paths)
    return [
        NotFound(service, f"No {kind} with id {key!r}") if record is None else record
        for key, record in zip(keys, found, strict=True)
    ]
