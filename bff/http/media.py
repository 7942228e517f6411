"""Which media type a GraphQL response is sent as, from the request's `Accept`.

See docs/api-contract.md, GraphQL over HTTP.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

GRAPHQL_RESPONSE_JSON: Final = "application/graphql-response+json"
JSON: Final = "application/json"
_PREFERENCE: Final = (GRAPHQL_RESPONSE_JSON, JSON)


@lru_cache(maxsize=256)
def negotiate(accept: str | None) -> str | None:
    """The media type to answer with, or None when the caller accepts neither."""
    if not accept or not accept.strip():
        return JSON
    best: str | None = None
    best_quality = 0.0
    for media_range, quality in weighted(accept):
        chosen = _match(media_range)
        if chosen is None or quality <= 0:
            continue
        if quality > best_quality or (
            quality == best_quality and best is not None and _rank(chosen) < _rank(best)
        ):
            best, best_quality = chosen, quality
    return best


def weighted(header: str) -> list[tuple[str, float]]:
    """The values of an `Accept`-style header, lower-cased, with their `q` weights."""
    ranges = []
    for part in header.split(","):
        media_range, *parameters = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges.append((media_range.lower(), quality))
    return ranges


def _match(media_range: str) -> str | None:
    if media_range in _PREFERENCE:
        return media_range
    if media_range in ("*/*", "application/*"):
        # Wildcards get the type every client understands.
        return JSON
    return None


def _rank(media_type: str) -> int:
    return _PREFERENCE.index(media_type)


MULTIPART_MIXED: Final = "multipart/mixed"
DEFER_SPEC: Final = "20220824"
"""The incremental delivery format served: Apollo Router's and Apollo Client's
`Defer20220824Handler` (docs/incremental-delivery.md)."""


@lru_cache(maxsize=256)
def accepts_multipart(accept: str | None) -> bool:
    """The caller takes `multipart/mixed` answers in parts, in the deferSpec served.

    `multipart/mixed` with no deferSpec (as GraphiQL sends it) counts; one naming
    another deferSpec does not.
    """
    for part in (accept or "").split(","):
        media_range, *parameters = (piece.strip() for piece in part.split(";"))
        if media_range.lower() != MULTIPART_MIXED:
            continue
        named = {}
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            named[name.strip().lower()] = value.strip().strip('"')
        if named.get("deferspec", DEFER_SPEC) != DEFER_SPEC:
            continue
        try:
            quality = float(named.get("q", "1"))
        except ValueError:
            quality = 0.0
        if quality > 0:
            return True
    return False
