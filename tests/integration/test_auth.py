"""Bearer tokens: a battery of good and bad ones, and who may see what."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import time
from collections.abc import Callable

import httpx
import jwt
import orjson
import pytest
from cryptography.hazmat.primitives import serialization

from bff.security.auth import AuthenticationFailed, Authenticator, TokenRules
from demo.identity import AUDIENCE, ISSUER, IdentityProvider
from demo.services import ALL_NAMES, build_services
from tests.harness import Harness, Reply, running_bff, signed_in
from tests.sockets import subscribable_bff

IDP = IdentityProvider()
RSA, EC = IDP.keys


def forge(
    claims: dict[str, object],
    *,
    key: object = RSA.private,
    alg: str = "RS256",
    kid: str | None = RSA.kid,
    expires_in_s: int = 600,
    valid_in_s: int | None = None,
) -> str:
    """A token signed now: `exp` and `nbf` (if given) are that many seconds from now."""
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "u1", "iat": now, "exp": now + expires_in_s}
    if valid_in_s is not None:
        payload["nbf"] = now + valid_in_s
    headers = {"kid": kid} if kid else {}
    return jwt.encode({**payload, **claims}, key, algorithm=alg, headers=headers)  # type: ignore[arg-type]


def _part(data: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(data)).rstrip(b"=").decode()


def _claims(extra: dict[str, object]) -> dict[str, object]:
    now = int(time.time())
    return {"iss": ISSUER, "aud": AUDIENCE, "sub": "u1", "exp": now + 600, **extra}


def unsigned(claims: dict[str, object]) -> str:
    return f"{_part({'alg': 'none', 'typ': 'JWT'})}.{_part(_claims(claims))}."


def hmac_signed(secret: bytes, *, kid: str | None = None) -> str:
    """HS256 by hand: PyJWT itself refuses to use a public key as an HMAC secret."""
    header: dict[str, object] = {"alg": "HS256", "typ": "JWT", **({"kid": kid} if kid else {})}
    signing_input = f"{_part(header)}.{_part(_claims({}))}"
    digest = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"


def tampered(token: str) -> str:
    """The same token with one character of its signature changed."""
    position = len(token) - 10
    replacement = "A" if token[position] != "A" else "B"
    return token[:position] + replacement + token[position + 1 :]


PUBLIC_PEM = RSA.private.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)

# Each token is made by the test that sends it: one signed at import would age while others run.
REFUSED: list[tuple[str, Callable[[], str], str]] = [
    ("expired", lambda: forge({}, expires_in_s=-120), "has expired (`exp`)"),
    ("not yet valid", lambda: forge({}, valid_in_s=600), "not valid yet (`nbf`)"),
    ("wrong issuer", lambda: forge({"iss": "https://evil.example"}), "unknown issuer (`iss`)"),
    ("wrong audience", lambda: forge({"aud": "someone-else"}), "another audience (`aud`)"),
    ("alg none", lambda: unsigned({}), "algorithm 'none' is not accepted"),
    (
        "HS256 with the public key",
        lambda: hmac_signed(PUBLIC_PEM, kid=RSA.kid),
        "'HS256' is not accepted",
    ),
    ("unknown kid", lambda: forge({}, kid="nobody"), "signing key 'nobody' is unknown"),
    ("no kid", lambda: forge({}, kid=None), "names no signing key (`kid`)"),
    ("RS256 token naming the EC key", lambda: forge({}, kid=EC.kid), "is not a RS256 key"),
    ("truncated", lambda: IDP.sign("u1")[:60], "not a well-formed JWT"),
    ("signature tampered", lambda: tampered(IDP.sign("u1")), "signature does not verify"),
    ("garbage", lambda: "not-a-jwt", "not a well-formed JWT"),
    ("no subject", lambda: forge({"sub": ""}), "no subject (`sub`)"),
    ("subject a lone surrogate", lambda: forge({"sub": "\ud800"}), "not printable ASCII"),
    ("subject with a space", lambda: forge({"sub": "u1 u2"}), "not printable ASCII"),
    ("subject of 256 characters", lambda: forge({"sub": "u" * 256}), "not printable ASCII"),
]


@pytest.mark.parametrize(("case", "token", "message"), REFUSED, ids=[c[0] for c in REFUSED])
async def test_bad_tokens_are_refused_saying_why(
    bff: Harness, case: str, token: Callable[[], str], message: str
) -> None:
    response = await bff.http.post(
        "/graphql",
        json={"query": "{ me { id } }"},
        headers={"Authorization": f"Bearer {token()}"},
    )

    assert response.status_code == 401, case
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert message in error["message"]
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert bff.calls() == 0


@pytest.mark.parametrize("leeway_s", [None, 90], ids=["default leeway", "leeway 90 s"])
async def test_the_leeway_holds_on_both_sides_of_exp_and_nbf(leeway_s: int | None) -> None:
    leeway = 30 if leeway_s is None else leeway_s
    # 10 s either side of the leeway: a slow run cannot move a token across it.
    inside, outside = leeway - 10, leeway + 10
    env = {} if leeway_s is None else {"BFF_AUTH_LEEWAY_S": str(leeway_s)}
    async with running_bff(env) as bff:

        async def me(token: str) -> Reply:
            return await bff.query("{ me { id } }", headers={"Authorization": f"Bearer {token}"})

        expired_inside = await me(forge({}, expires_in_s=-inside))
        expired_outside = await me(forge({}, expires_in_s=-outside))
        early_inside = await me(forge({}, valid_in_s=inside))
        early_outside = await me(forge({}, valid_in_s=outside))

    assert expired_inside.data == {"me": {"id": "u1"}}
    assert early_inside.data == {"me": {"id": "u1"}}
    assert expired_outside.status == 401
    assert expired_outside.errors[0]["message"] == "The token has expired (`exp`)."
    assert early_outside.status == 401
    assert early_outside.errors[0]["message"] == "The token is not valid yet (`nbf`)."


# A token's header is the client's to write. Each: the header as JSON text, the description.
ODD_HEADERS = [
    ("kid outside Latin-1", '{"alg": "RS256", "kid": "\u043a\u043b\u044e\u0447"}', "unknown"),
    ("alg outside Latin-1", '{"alg": "\u043a\u043b\u044e\u0447"}', "algorithm"),
    ("kid splitting a header", '{"alg": "RS256", "kid": "a\\"\\r\\nSet-Cookie: k=1"}', "unknown"),
    ("kid a lone surrogate", '{"alg": "RS256", "kid": "\\ud800"}', "unknown"),
    ("kid of 5,000 characters", '{"alg": "RS256", "kid": "' + "k" * 5000 + '"}', "unknown"),
    ("kid a number", '{"alg": "RS256", "kid": 7}', "malformed"),
    ("alg a list", '{"alg": ["RS256"]}', "algorithm"),
    ("alg an object", '{"alg": {"RS256": true}}', "algorithm"),
    ("alg null", '{"alg": null}', "algorithm"),
    ("alg nested deep", '{"alg": ' + "[" * 900 + "]" * 900 + "}", "algorithm"),
    ("alg nested deeper", '{"alg": ' + "[" * 5000 + "]" * 5000 + "}", "malformed"),
    ("crit not a list", '{"alg": "RS256", "crit": 5}', "malformed"),
    ("header not an object", '["RS256"]', "malformed"),
]
DESCRIPTIONS = {
    "unknown": "The token's signing key is unknown.",
    "algorithm": "The token's algorithm is not accepted.",
    "malformed": "The token is not a well-formed JWT.",
}
# RFC 6750 allows these characters in error_description: printable ASCII but `"` and `\`.
CHALLENGE = re.compile(r'Bearer error="invalid_token", error_description="([ !#-\[\]-~]*)"')


def with_header(header_json: str) -> str:
    """A token whose header is exactly this JSON text (and whose signature is nonsense)."""
    header = base64.urlsafe_b64encode(header_json.encode()).rstrip(b"=").decode()
    return f"{header}.{_part(_claims({}))}.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("case", "header_json", "rule"), ODD_HEADERS, ids=[c[0] for c in ODD_HEADERS]
)
async def test_odd_token_headers_are_refused_without_echoing_them_in_a_header(
    bff: Harness, caplog: pytest.LogCaptureFixture, case: str, header_json: str, rule: str
) -> None:
    response = await bff.http.post(
        "/graphql",
        json={"query": "{ me { id } }"},
        headers={"Authorization": f"Bearer {with_header(header_json)}"},
    )

    assert response.status_code == 401, case
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    # The body may quote the value, escaped and cut short.
    assert error["message"].isascii()
    assert error["message"].isprintable()
    assert len(error["message"]) <= 100
    challenge = CHALLENGE.fullmatch(response.headers["www-authenticate"])
    assert challenge is not None
    assert challenge[1] == DESCRIPTIONS[rule]
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


@pytest.mark.e2e
async def test_odd_token_headers_close_a_socket_with_4403_and_the_rule_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    closed = []
    async with subscribable_bff() as stack:
        for _, header_json, _ in ODD_HEADERS:
            async with stack.socket() as socket:
                authorization = f"Bearer {with_header(header_json)}"
                await socket.send(
                    {"type": "connection_init", "payload": {"Authorization": authorization}}
                )
                closed.append(await socket.closed())

    assert closed == [(4403, DESCRIPTIONS[rule]) for _, _, rule in ODD_HEADERS]
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


@pytest.mark.parametrize("header", ["Basic dTE6cHc=", "Bearer", "Token abc"])
async def test_only_bearer_tokens_are_understood(bff: Harness, header: str) -> None:
    reply = await bff.query("{ me { id } }", headers={"Authorization": header})

    assert reply.status == 401
    assert reply.errors[0]["message"] == "The Authorization header must be 'Bearer <token>'."


async def test_rs256_and_es256_tokens_are_accepted(bff: Harness) -> None:
    for key in (RSA, EC):
        token = IDP.sign("u4", kid=key.kid)
        reply = await bff.query("{ me { id } }", headers={"Authorization": f"Bearer {token}"})
        assert reply.data == {"me": {"id": "u4"}}, key.alg


async def test_anonymous_callers_still_reach_public_fields(bff: Harness) -> None:
    reply = await bff.query('{ me { id } product(id: "p1") { name } }')

    assert reply.status == 200
    assert reply.data["me"] is None
    assert reply.data["product"]["name"]


async def test_hs256_needs_its_own_shared_secret() -> None:
    secret = "correct horse battery staple, and then some more"
    async with running_bff({"BFF_AUTH_HS256_SECRET": secret}) as bff:
        good = await bff.query(
            "{ me { id } }",
            headers={"Authorization": f"Bearer {forge({}, key=secret, alg='HS256', kid=None)}"},
        )
        with_public_key = await bff.query(
            "{ me { id } }", headers={"Authorization": f"Bearer {hmac_signed(PUBLIC_PEM)}"}
        )

    assert good.data == {"me": {"id": "u1"}}
    assert with_public_key.status == 401
    assert "signature does not verify" in with_public_key.errors[0]["message"]


async def test_keys_are_fetched_once_and_again_only_for_an_unknown_kid() -> None:
    demo = build_services(ALL_NAMES)
    identity = demo["identity"]
    async with running_bff({"BFF_AUTH_JWKS_REFRESH_S": "0"}, demo=demo) as bff:
        for _ in range(5):
            reply = await bff.query("{ me { id } }", headers=signed_in("u2"))
            assert reply.data == {"me": {"id": "u2"}}
        fetched_before_rotation = identity.stats.total()
        transport = httpx.ASGITransport(app=identity.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://idp") as idp:
            kid = (await idp.post("/_demo/rotate")).json()["kid"]
            token = (await idp.post("/_demo/token", json={"sub": "u9", "kid": kid})).json()
        rotated = await bff.query(
            "{ me { id } }", headers={"Authorization": f"Bearer {token['access_token']}"}
        )

    assert fetched_before_rotation == 1
    assert rotated.data == {"me": {"id": "u9"}}
    assert identity.stats.total() == 2


# Who may see what.

PROFILE = 'query { user(id: "u2") { name email orders(first: 1) { id } } }'


async def test_a_users_own_data_is_theirs_and_admins(bff: Harness) -> None:
    own = await bff.query(PROFILE, headers=signed_in("u2"))
    admin = await bff.query(PROFILE, headers=signed_in("u5", roles=("admin",)))
    other = await bff.query(PROFILE, headers=signed_in("u3"))
    anonymous = await bff.query(PROFILE)

    for allowed in (own, admin):
        assert "errors" not in allowed.body
        assert allowed.data["user"]["email"]
    assert other.data["user"]["name"] == own.data["user"]["name"]
    assert other.data["user"]["email"] is None
    assert other.data["user"]["orders"] is None
    assert sorted(other.codes()) == ["FORBIDDEN", "FORBIDDEN"]
    assert other.error_at("user", "email")["message"] == (
        "Only the user themselves or an admin may see this field."
    )
    assert anonymous.codes() == ["UNAUTHENTICATED", "UNAUTHENTICATED"]
    assert anonymous.data["user"]["name"]


async def test_an_order_is_its_owners_and_admins(bff: Harness) -> None:
    query = 'query { order(id: "o1") { id user { id } } }'
    owner_id = (await bff.query(query, headers=signed_in("u1", roles=("admin",)))).data["order"][
        "user"
    ]["id"]

    owner = await bff.query(query, headers=signed_in(owner_id))
    stranger = await bff.query(query, headers=signed_in("u999"))
    anonymous = await bff.query(query)

    assert owner.data["order"]["id"] == "o1"
    assert stranger.data == {"order": None}
    assert stranger.codes() == ["FORBIDDEN"]
    assert anonymous.codes() == ["UNAUTHENTICATED"]


ORDER = """mutation { placeOrder(input: {lines: [{productId: "p5", quantity: 1}]},
                                idempotencyKey: "auth-1") { id user { id } } }"""


async def test_placing_an_order_needs_the_orders_write_scope(bff: Harness) -> None:
    without = await bff.query(ORDER, headers=signed_in("u1", scope="profile"))
    anonymous = await bff.query(ORDER)
    placed = await bff.query(ORDER, headers=signed_in("u1", scope="profile orders:write"))

    assert without.codes() == ["FORBIDDEN"]
    assert "`orders:write` scope" in without.errors[0]["message"]
    assert anonymous.codes() == ["UNAUTHENTICATED"]
    assert placed.data["placeOrder"]["user"] == {"id": "u1"}
    assert bff.demo["orders"].stats.by_route()["POST /orders"] == 1


async def test_a_review_is_written_as_the_tokens_subject(bff: Harness) -> None:
    reply = await bff.query(
        'mutation { addReview(input: {productId: "p3", rating: 5, body: "Great"}) '
        "{ author { id } } }",
        headers=signed_in("u6", scope=""),
    )

    assert reply.data == {"addReview": {"author": {"id": "u6"}}}


async def test_the_callers_token_goes_downstream_and_client_headers_do_not(bff: Harness) -> None:
    auth = signed_in("u2")
    await bff.query(
        PROFILE,
        headers={
            **auth,
            "X-User-Id": "u1",
            "X-Forwarded-For": "10.0.0.1",
            "Connection": "keep-alive, x-secret",
            "X-Secret": "s",
        },
    )

    received = [r.headers for s in bff.downstream.values() for r in s.stats.recent()]
    assert received
    for headers in received:
        assert headers["authorization"] == auth["Authorization"]
        assert "x-user-id" not in headers
        assert "x-forwarded-for" not in headers


async def test_a_verified_token_is_taken_on_trust_but_its_expiry_is_checked_on_each_use() -> None:
    secret = "s" * 32
    rules = TokenRules(
        issuer=ISSUER,
        audience=AUDIENCE,
        algorithms=("HS256",),
        leeway_s=30,
        roles_claim="roles",
        hs256_secret=secret,
    )
    now = [time.time()]
    authenticator = Authenticator(rules, None, clock=lambda: now[0])
    header = f"Bearer {forge({}, key=secret, alg='HS256', kid=None, expires_in_s=60)}"

    first = await authenticator.caller(header)
    again = await authenticator.caller(header)
    now[0] += 60 + 30 + 1  # past exp and the leeway, by this clock
    with pytest.raises(AuthenticationFailed, match=r"expired \(`exp`\)"):
        await authenticator.caller(header)

    assert first.user_id == "u1"
    assert again is first  # no second verification: the same caller, kept
