"""Batch forms of resolvers: one call answers a field for every object of a level.

See docs/execution.md, Batch forms.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

BATCH_FORM = "batch_form"
"""The attribute of a resolver function that holds its batch form."""

BatchForm = Callable[..., Coroutine[Any, Any, Sequence[object]]]
"""`(objects, paths, **the resolver's keyword arguments)` -> one value or exception each."""

_F = TypeVar("_F", bound=Callable[..., object])


def batched(form: BatchForm) -> Callable[[_F], _F]:
    """Give a resolver its batch form."""

    def mark(resolver: _F) -> _F:
        setattr(resolver, BATCH_FORM, form)
        return resolver

    return mark


def batch_form(resolver: object) -> BatchForm | None:
    """A resolver function's batch form, if it has one."""
    form = getattr(resolver, BATCH_FORM, None)
    return form if callable(form) else None


_R = TypeVar("_R")


def converted(
    found: Sequence[_R | Exception | None], convert: Callable[[_R], object]
) -> list[object]:
    """Each object's record as its schema type; an exception or None as it is."""
    return [
        each if each is None or isinstance(each, Exception) else convert(each) for each in found
    ]
