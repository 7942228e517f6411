"""The demo identity provider: the JWKS a BFF verifies tokens with, and dev tokens.

It serves `/.well-known/jwks.json` and `/.well-known/openid-configuration`,
and signs tokens with the committed development keys (`demo/keys/`), so
`bff-demo token` and every running demo agree. For tests it can also rotate in a
fresh key (`POST /_demo/rotate`) and sign with any key it holds
(`POST /_demo/token`).
"""

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from demo.http import json_response
from demo.stats import Stats

ISSUER: Final = "bff-demo-identity"
AUDIENCE: Final = "bff"
KEYS: Final = Path(__file__).parent / "keys"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    alg: str
    private: PrivateKey

    def public_jwk(self) -> dict[str, object]:
        public = self.private.public_key()
        jwk = (
            RSAAlgorithm.to_jwk(public, as_dict=True)
            if isinstance(public, rsa.RSAPublicKey)
            else ECAlgorithm.to_jwk(public, as_dict=True)
        )
        return {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig"}


def development_keys() -> list[SigningKey]:
    """The committed RS256 and ES256 keys."""
    keys = []
    for kid, alg, name in (
        ("dev-rs256", "RS256", "dev-rs256.pem"),
        ("dev-es256", "ES256", "dev-es256.pem"),
    ):
        private = serialization.load_pem_private_key((KEYS / name).read_bytes(), password=None)
        assert isinstance(private, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
        keys.append(SigningKey(kid, alg, private))
    return keys


class IdentityProvider:
    def __init__(
        self,
        keys: Iterable[SigningKey] | None = None,
        *,
        issuer: str = ISSUER,
        audience: str = AUDIENCE,
    ) -> None:
        self.keys = list(keys) if keys is not None else development_keys()
        self.issuer = issuer
        self.audience = audience

    def jwks(self) -> dict[str, object]:
        return {"keys": [key.public_jwk() for key in self.keys]}

    def sign(
        self,
        sub: str,
        *,
        scope: str = "",
        roles: Sequence[str] = (),
        ttl_s: int = 3600,
        kid: str | None = None,
        not_before_s: int = 0,
    ) -> str:
        """A signed access token for `sub`, with the default key or the one named."""
        key = next((k for k in self.keys if k.kid == kid), self.keys[0]) if kid else self.keys[0]
        now = int(time.time())
        claims: dict[str, object] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": sub,
            "iat": now,
            "nbf": now + not_before_s,
            "exp": now + ttl_s,
        }
        if scope:
            claims["scope"] = scope
        if roles:
            claims["roles"] = list(roles)
        return jwt.encode(claims, key.private, algorithm=key.alg, headers={"kid": key.kid})

    def rotate(self) -> SigningKey:
        """Add a freshly generated RS256 key and make it the one tokens are signed with."""
        key = SigningKey(
            f"rotated-{len(self.keys)}",
            "RS256",
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
        )
        self.keys.insert(0, key)
        return key


def create_app(provider: IdentityProvider, stats: Stats) -> Starlette:
    async def jwks(request: Request) -> Response:
        stats.record("GET /.well-known/jwks.json", request.scope)
        return json_response(provider.jwks(), headers={"Cache-Control": "public, max-age=300"})

    async def discovery(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return json_response(
            {
                "issuer": provider.issuer,
                "jwks_uri": f"{base}/.well-known/jwks.json",
                "id_token_signing_alg_values_supported": sorted({k.alg for k in provider.keys}),
            }
        )

    async def token(request: Request) -> Response:
        body = orjson.loads(await request.body() or b"{}")
        signed = provider.sign(
            str(body.get("sub", "u1")),
            scope=str(body.get("scope", "")),
            roles=[str(role) for role in body.get("roles", [])],
            ttl_s=int(body.get("ttl", 3600)),
            kid=body.get("kid"),
        )
        return json_response({"access_token": signed, "token_type": "Bearer"})

    async def rotate(request: Request) -> Response:
        return json_response({"kid": provider.rotate().kid})

    async def healthz(request: Request) -> Response:
        return json_response({"status": "ok"})

    return Starlette(
        routes=[
            Route("/.well-known/jwks.json", jwks),
            Route("/.well-known/openid-configuration", discovery),
            Route("/healthz", healthz),
            Route("/_demo/token", token, methods=["POST"]),
            Route("/_demo/rotate", rotate, methods=["POST"]),
        ]
    )
