"""Who is calling: OAuth 2.0 / OIDC bearer access tokens (JWT), checked with PyJWT.

See docs/security.md, Authentication.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import jwt
from cachetools import TTLCache

from resolvers.context import Caller

logger = logging.getLogger("bff.security.auth")

EXPIRED = "The token has expired (`exp`)."


class AuthenticationFailed(Exception):
    """A token was sent and refused.

    `description` names the rule it broke in the BFF's own words, fit for a
    `WWW-Authenticate` header or a close reason: it never holds a value the
    client sent. `message`, for a response body, may also quote that value.
    """

    def __init__(self, description: str, message: str | None = None) -> None:
        super().__init__(message or description)
        self.description = description
        self.message = message or description


_SUBJECT = re.compile(r"[\x21-\x7e]{1,255}")
QUOTED_CHARS = 40
"""The longest part of a client's value a refusal quotes."""


def quoted(value: object) -> str:
    """A value from a token's header as a refusal may show it: printable ASCII, cut short."""
    if isinstance(value, list | dict):  # named, not shown: it may nest deep enough to break repr
        return "(a JSON array)" if isinstance(value, list) else "(a JSON object)"
    text = ascii(value[: QUOTED_CHARS + 1] if isinstance(value, str) else value)
    return text if len(text) <= QUOTED_CHARS else f"{text[:QUOTED_CHARS]}..."


@dataclass(frozen=True, slots=True)
class TokenRules:
    issuer: str
    audience: str
    algorithms: tuple[str, ...]
    leeway_s: float
    roles_claim: str
    hs256_secret: str | None = None


class KeySet:
    """The signing keys of a JWKS URL, by key id."""

    def __init__(
        self,
        url: str,
        http: httpx.AsyncClient,
        *,
        refresh_interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._http = http
        self._interval = refresh_interval_s
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        """Fetch the set now; on failure keep the keys held so far."""
        self._fetched_at = self._clock()
        try:
            response = await self._http.get(self._url)
            response.raise_for_status()
            found = jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWKSetError) as error:
            logger.warning("could not fetch the JWKS: %s", error)
            return
        self._keys = {key.key_id: key for key in found.keys if key.key_id}

    async def key(self, kid: str) -> jwt.PyJWK | None:
        known = self._keys.get(kid)
        if known is not None:
            return known
        async with self._lock:
            stale = self._fetched_at is None or self._clock() - self._fetched_at >= self._interval
            if kid not in self._keys and stale:
                await self.refresh()
        return self._keys.get(kid)


VERIFIED_KEPT = 4096
"""Tokens kept verified, the most recently used (a mobile app sends one for an hour)."""
VERIFIED_FOR_S = 300.0
"""How long a verified token is taken on trust before its signature is checked again."""


class Authenticator:
    """Turns `Authorization` headers into callers.

    A token that verified is kept for `VERIFIED_FOR_S` (at most
    `VERIFIED_KEPT` of them), so a client's every request does not pay for
    the signature check again; its `exp` is checked on every use all the same.
    """

    def __init__(
        self,
        rules: TokenRules,
        keys: KeySet | None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._rules = rules
        allowed = tuple(alg for alg in rules.algorithms if alg != "HS256")
        self._allowed = (*allowed, "HS256") if rules.hs256_secret else allowed
        """The algorithms a token may be signed with: HS256 only with its own secret."""
        self._keys = keys
        self._clock = clock
        self._verified: TTLCache[str, Caller] = TTLCache(
            VERIFIED_KEPT, VERIFIED_FOR_S, timer=time.monotonic
        )

    async def caller(self, authorization: str | None) -> Caller:
        """The caller an `Authorization` header names; anonymous without one."""
        if authorization is None:
            return Caller()
        known = self._verified.get(authorization)
        if known is not None:
            if known.expired(self._clock()):
                raise AuthenticationFailed(EXPIRED)
            return known
        caller = await self._verified_caller(authorization)
        self._verified[authorization] = caller
        return caller

    async def _verified_caller(self, authorization: str) -> Caller:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed("The Authorization header must be 'Bearer <token>'.")
        claims = await self._verified_claims(token.strip())
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise AuthenticationFailed("The token has no subject (`sub`).")
        if not _SUBJECT.fullmatch(subject):
            # OpenID Connect: at most 255 ASCII characters; it goes downstream in URLs.
            raise AuthenticationFailed("The token's subject (`sub`) is not printable ASCII.")
        scope = claims.get("scope", claims.get("scp", ""))
        if isinstance(scope, str):
            scopes = scope.split()
        else:
            scopes = [str(item) for item in scope] if isinstance(scope, list) else []
        roles = claims.get(self._rules.roles_claim, [])
        return Caller(
            user_id=subject,
            scopes=frozenset(scopes),
            roles=frozenset(str(role) for role in roles)
            if isinstance(roles, list)
            else frozenset(),
            authorization=authorization,
            expires_at=_accepted_until(claims["exp"]) + self._rules.leeway_s,
        )

    async def _verified_claims(self, token: str) -> dict[str, object]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:  # also a `kid` or `crit` of the wrong type
            raise AuthenticationFailed("The token is not a well-formed JWT.") from None
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in self._allowed:
            raise AuthenticationFailed(
                "The token's algorithm is not accepted.",
                f"The token's algorithm {quoted(algorithm)} is not accepted.",
            )
        key: object
        if algorithm == "HS256":
            key = self._rules.hs256_secret
        else:
            key = await self._key(header.get("kid"), algorithm)
        try:
            claims: dict[str, object] = jwt.decode(
                token,
                key,  # type: ignore[arg-type]
                algorithms=[algorithm],
                audience=self._rules.audience,
                issuer=self._rules.issuer,
                leeway=self._rules.leeway_s,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationFailed(EXPIRED) from None
        except jwt.ImmatureSignatureError:
            raise AuthenticationFailed("The token is not valid yet (`nbf`).") from None
        except jwt.InvalidAudienceError:
            raise AuthenticationFailed("The token is for another audience (`aud`).") from None
        except jwt.InvalidIssuerError:
            raise AuthenticationFailed("The token comes from an unknown issuer (`iss`).") from None
        except jwt.MissingRequiredClaimError as error:
            raise AuthenticationFailed(f"The token lacks the `{error.claim}` claim.") from None
        except jwt.InvalidSignatureError:
            raise AuthenticationFailed("The token's signature does not verify.") from None
        except jwt.InvalidTokenError:
            raise AuthenticationFailed("The token is not a well-formed JWT.") from None
        return claims

    async def _key(self, kid: object, algorithm: str) -> object:
        if self._keys is None:
            raise AuthenticationFailed("Bearer tokens are not accepted: no JWKS is configured.")
        if not isinstance(kid, str):
            raise AuthenticationFailed("The token names no signing key (`kid`).")
        key = await self._keys.key(kid)
        if key is None:
            raise AuthenticationFailed(
                "The token's signing key is unknown.",
                f"The token's signing key {quoted(kid)} is unknown.",
            )
        if key.algorithm_name != algorithm:
            raise AuthenticationFailed(
                f"The token's signing key is not a {algorithm} key.",
                f"The signing key {quoted(kid)} is not a {algorithm} key.",
            )
        return key.key


def _accepted_until(exp: object) -> float:
    """The Unix time `exp` names, read as PyJWT read it (`int(exp)`) when it verified it."""
    if not isinstance(exp, int | float | str):
        raise AuthenticationFailed("The token's `exp` is not a number.")
    return float(int(exp))
