"""A user's account fields are theirs and admins', however a query reaches them.

Both executors apply the same permission (`IsSelfOrAdmin`): the planned one
resolves a field with extensions through Strawberry's wrapper, graphql-core's
as always, so every case runs under each.
"""

from __future__ import annotations

import re

import pytest
from strawberry.permission import PermissionExtension

from schema import build_schema
from schema.permissions import IsSelfOrAdmin
from tests.harness import Json, Reply, running_bff, signed_in
from tests.paths import REPO_ROOT
from tests.seed import DATA

EXECUTORS = pytest.mark.parametrize(
    "planned", ["true", "false"], ids=["planned executor", "graphql-core executor"]
)

OWNER = next(user_id for user_id, reviews in DATA.reviews_by_author.items() if reviews)
OTHER = next(user_id for user_id in DATA.users if user_id != OWNER)
ADMIN = next(user_id for user_id in DATA.users if user_id not in (OWNER, OTHER))
ACCOUNT = ("email", "tier", "country", "createdAt")
SELECTED = " ".join(ACCOUNT)
FRAGMENT = f"fragment Account on User {{ {SELECTED} }}"

# Each way to a user's account fields: the query (`$id` is the owner) and the path to the user.
ROUTES: list[tuple[str, str, tuple[str | int, ...]]] = [
    ("user(id:)", f"query A($id: ID!) {{ user(id: $id) {{ name {SELECTED} }} }}", ("user",)),
    (
        "named fragment",
        f"query A($id: ID!) {{ user(id: $id) {{ name ...Account }} }} {FRAGMENT}",
        ("user",),
    ),
    (
        "inline fragment",
        f"query A($id: ID!) {{ user(id: $id) {{ name ... on User {{ {SELECTED} }} }} }}",
        ("user",),
    ),
    (
        "Review.author",
        "query A($id: ID!) { user(id: $id) { reviews(first: 1) { author { name ...Account } } } } "
        + FRAGMENT,
        ("user", "reviews", 0, "author"),
    ),
]


def callers() -> dict[str, dict[str, str]]:
    """Each kind of caller's headers, signed now."""
    return {
        "owner": signed_in(OWNER),
        "admin": signed_in(ADMIN, roles=("admin",)),
        "other user": signed_in(OTHER),
        "anonymous": {},
    }


def at(data: Json, path: tuple[str | int, ...]) -> Json:
    for key in path:
        data = data[key]
    return data


def seen(reply: Reply, path: tuple[str | int, ...]) -> tuple[dict[str, Json], list[Json]]:
    """The user's name and account fields as answered, and each error's path and code."""
    user = at(reply.data, path)
    assert isinstance(user, dict), reply.body
    errors = sorted((error["path"], error["extensions"]["code"]) for error in reply.errors)
    return {key: user[key] for key in ("name", *ACCOUNT)}, errors


@EXECUTORS
async def test_account_fields_are_the_users_and_admins_only(planned: str) -> None:
    user = DATA.users[OWNER]
    shown = {
        "name": user.name,
        "email": user.email,
        "tier": user.tier.upper(),
        "country": user.country,
        "createdAt": user.created_at.replace("Z", "+00:00"),
    }
    hidden = {"name": user.name, **dict.fromkeys(ACCOUNT)}
    expected = {}
    answered = {}
    async with running_bff({"BFF_PLANNED_EXECUTION": planned}) as bff:
        for route, query, path in ROUTES:
            for who, headers in callers().items():
                reply = await bff.query(query, {"id": OWNER}, headers=headers)
                answered[route, who] = seen(reply, path)
                denial = {"other user": "FORBIDDEN", "anonymous": "UNAUTHENTICATED"}.get(who)
                expected[route, who] = (
                    (shown, [])
                    if denial is None
                    else (hidden, sorted(([*path, field], denial) for field in ACCOUNT))
                )

    assert answered == expected


@EXECUTORS
async def test_an_account_field_makes_a_response_private(planned: str) -> None:
    """Asked by its owner first, it is never stored for, nor served to, anyone else."""
    cache_control = {}
    anonymous = {}
    async with running_bff({"BFF_PLANNED_EXECUTION": planned}) as bff:
        public = await bff.query("query A($id: ID!) { user(id: $id) { name } }", {"id": OWNER})
        for field in ("tier", "country", "createdAt"):
            shapes = {
                "named": f"user(id: $id) {{ name ...F }} }} fragment F on User {{ {field} }}",
                "inline": f"user(id: $id) {{ name ... on User {{ {field} }} }} }}",
            }
            for shape, rest in shapes.items():
                query = f"query A($id: ID!) {{ {rest}"
                owner = await bff.query(query, {"id": OWNER}, headers=signed_in(OWNER))
                assert owner.data["user"][field] is not None
                cache_control[field, shape] = owner.headers["cache-control"]
                again = await bff.query(query, {"id": OWNER})
                anonymous[field, shape] = (again.data["user"][field], *again.codes())

    assert public.headers["cache-control"] == "public, max-age=30"
    assert set(cache_control.values()) == {"private, max-age=30"}
    assert set(anonymous.values()) == {(None, "UNAUTHENTICATED")}


def test_the_security_docs_list_every_field_only_its_user_and_admins_see() -> None:
    schema = build_schema()._schema
    owners_only = sorted(
        f"{type_name}.{field_name}"
        for type_name, named in schema.type_map.items()
        for field_name, field in getattr(named, "fields", {}).items()
        for extension in getattr(field.extensions.get("strawberry-definition"), "extensions", ())
        if isinstance(extension, PermissionExtension)
        and any(isinstance(permission, IsSelfOrAdmin) for permission in extension.permissions)
    )
    docs = (REPO_ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    row = next(line for line in docs.splitlines() if "that user, or a caller with" in line)

    assert owners_only == sorted(f"User.{field}" for field in (*ACCOUNT, "orders"))
    assert sorted(re.findall(r"`([\w.]+)`", row.split("|")[1])) == owners_only
