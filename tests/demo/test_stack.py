"""`bff-demo`: the environment it starts the BFF with."""

from __future__ import annotations

import jwt

from demo.identity import AUDIENCE, ISSUER, IdentityProvider
from demo.services import DEFAULT_PORTS, SERVICE_NAMES
from demo.stack import bff_environment


def test_the_bff_runs_one_worker_unless_asked_for_more() -> None:
    assert bff_environment({})["BFF_WORKERS"] == "1"
    assert bff_environment({"BFF_WORKERS": "2"})["BFF_WORKERS"] == "2"
    assert bff_environment({"BFF_WORKERS": "2"}, workers=3)["BFF_WORKERS"] == "3"


def test_the_bff_is_pointed_at_the_demo_services_unless_told_otherwise() -> None:
    env = bff_environment({"BFF_CATALOG_URL": "http://elsewhere:9"}, host="0.0.0.0", port=8080)

    for name in SERVICE_NAMES:
        if name != "catalog":
            assert env[f"BFF_{name.upper()}_URL"] == f"http://127.0.0.1:{DEFAULT_PORTS[name]}"
    assert env["BFF_CATALOG_URL"] == "http://elsewhere:9"
    assert env["BFF_AUTH_JWKS_URL"] == "http://127.0.0.1:8107/.well-known/jwks.json"
    assert (env["BFF_HOST"], env["BFF_PORT"]) == ("0.0.0.0", "8080")


def test_graphiql_gets_a_token_the_demo_identity_provider_signed_for_u1() -> None:
    token = bff_environment({})["BFF_GRAPHIQL_TOKEN"]
    keys = {key.kid: key.private.public_key() for key in IdentityProvider().keys}

    kid = jwt.get_unverified_header(token)["kid"]
    claims = jwt.decode(token, keys[kid], algorithms=["RS256", "ES256"], audience=AUDIENCE)

    assert claims["iss"] == ISSUER
    assert claims["sub"] == "u1"
    assert "orders:write" in claims["scope"].split()
    assert claims["exp"] - claims["iat"] >= 7 * 24 * 3600
