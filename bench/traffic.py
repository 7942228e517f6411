"""What the benchmark sends: each reference operation over the demo's whole keyspace.

A shop's traffic spreads over its catalogue and its users, so each request
of a run names the next key of a shuffled rotation: `ProductPage` over
p1..p5000 (and `ProductPageDeferred`, read in multipart parts),
`CategoryListing` over c1..c20, `HomeFeed` over u1..u1000, each
user signed in with a token of their own. `fixed` traffic sends the
example's own variables every time instead, which measures the caches.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import orjson

from bff.contract.examples import (
    CATEGORY_LISTING,
    HOME_FEED,
    PRODUCT_PAGE,
    PRODUCT_PAGE_DEFERRED,
    Example,
)
from demo.data import CATEGORY_COUNT, PRODUCT_COUNT, USER_COUNT
from demo.identity import IdentityProvider

KEYSPACES = ("rotating", "fixed")
MULTIPART = "multipart/mixed;deferSpec=20220824,application/json"
"""What a client reading `@defer` parts accepts (`ProductPageDeferred` asks for parts)."""
TOKEN_TTL_S = 24 * 3600
_SEED = 13


@dataclass(frozen=True, slots=True)
class Request:
    body: bytes
    headers: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Traffic:
    """The requests a run sends in turn, round and round."""

    operation: str
    requests: Sequence[Request]

    @property
    def first(self) -> Request:
        return self.requests[0]


def traffic(example: Example, keyspace: str, identity: IdentityProvider) -> Traffic:
    """The requests for `example`: one per key of its keyspace, shuffled, or the fixed one."""
    keys: list[str | None] = [None]
    if keyspace == "rotating":
        keys = _keys(example)
        random.Random(_SEED).shuffle(keys)
    return Traffic(example.name, [_request(example, key, identity) for key in keys])


def _keys(example: Example) -> list[str | None]:
    if example is PRODUCT_PAGE or example is PRODUCT_PAGE_DEFERRED:
        return [f"p{n}" for n in range(1, PRODUCT_COUNT + 1)]
    if example is CATEGORY_LISTING:
        return [f"c{n}" for n in range(1, CATEGORY_COUNT + 1)]
    if example is HOME_FEED:
        return [f"u{n}" for n in range(1, USER_COUNT + 1)]
    return [None]


def _request(example: Example, key: str | None, identity: IdentityProvider) -> Request:
    variables = dict(example.variables)
    user = example.signed_in_as
    if key is not None and example is HOME_FEED:
        user = key
    elif key is not None:
        (name,) = variables
        variables[name] = key
    headers = {"content-type": "application/json"}
    if example is PRODUCT_PAGE_DEFERRED:
        headers["accept"] = MULTIPART
    if user is not None:
        token = identity.sign(user, scope="orders:write", ttl_s=TOKEN_TTL_S)
        headers["authorization"] = f"Bearer {token}"
    body = orjson.dumps({"query": example.query, "variables": variables})
    return Request(body, headers)
