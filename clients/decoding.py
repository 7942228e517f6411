"""Narrowing downstream JSON into typed values.

Each reader raises `RecordError` naming the offending key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TypeVar

JsonObject = Mapping[str, object]

_T = TypeVar("_T", bound=str)


class RecordError(ValueError):
    """A JSON document does not have the shape the contract promises."""


def text(obj: JsonObject, key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise RecordError(f"{key!r} must be a string")
    return value


def optional_text(obj: JsonObject, key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError(f"{key!r} must be a string or null")
    return value


def integer(obj: JsonObject, key: str) -> int:
    value = obj.get(key)
    # bool is an int subclass; a boolean is never a valid count or amount.
    if not isinstance(value, int) or isinstance(value, bool):
        raise RecordError(f"{key!r} must be an integer")
    return value


def optional_number(obj: JsonObject, key: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise RecordError(f"{key!r} must be a number or null")
    return float(value)


def timestamp(obj: JsonObject, key: str) -> datetime:
    raw = text(obj, key)
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError as error:
        raise RecordError(f"{key!r} must be an ISO-8601 timestamp") from error
    if parsed.tzinfo is None:
        raise RecordError(f"{key!r} must carry a time zone")
    return parsed


def choice(obj: JsonObject, key: str, allowed: Sequence[_T]) -> _T:
    raw = text(obj, key)
    for option in allowed:
        if raw == option:
            return option
    raise RecordError(f"{key!r} must be one of {', '.join(allowed)}")


def objects(obj: JsonObject, key: str) -> list[JsonObject]:
    value = obj.get(key)
    if not isinstance(value, list):
        raise RecordError(f"{key!r} must be a list")
    for item in value:
        if not isinstance(item, Mapping):
            raise RecordError(f"{key!r} must hold objects")
    return value


def texts(obj: JsonObject, key: str) -> list[str]:
    value = obj.get(key)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise RecordError(f"{key!r} must be a list of strings")
    return value
