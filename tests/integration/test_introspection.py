"""Introspection as GraphQL tools send it rebuilds the schema; abusive introspection is refused.

GraphiQL, graphql-codegen, Apollo's tools, Postman and Insomnia fetch the
schema with graphql-js's `getIntrospectionQuery()`; Python clients with
graphql-core's `get_introspection_query()`. Each is sent with every option it
offers, and the answer, rebuilt into a schema, must print as the committed
`schema.graphql` does. (Directives applied in the SDL, such as
`@cacheControl`, are not part of introspection, and graphql-core's printer
leaves them out of both sides; sorting makes the order of types irrelevant.)
"""

from __future__ import annotations

import asyncio
import shutil
from inspect import signature
from typing import cast

import pytest
from graphql import (
    GraphQLSchema,
    IntrospectionQuery,
    build_client_schema,
    build_schema,
    get_introspection_query,
    lexicographic_sort_schema,
    print_schema,
)

from tests.harness import running_bff
from tests.paths import REPO_ROOT
from tests.sockets import subscribable_bff

ROOT = REPO_ROOT
GRAPHQL_JS = ROOT / "tests" / "js"
ENABLED = {
    "demo": {"BFF_PROFILE": "demo"},
    "production": {"BFF_PROFILE": "production", "BFF_INTROSPECTION": "true"},
}
"""Both profiles with introspection on."""


def printed(schema: GraphQLSchema) -> str:
    return print_schema(lexicographic_sort_schema(schema))


COMMITTED = printed(build_schema((ROOT / "schema.graphql").read_text()))


def every_option() -> dict[str, bool]:
    """Each flag `get_introspection_query` takes, on; a graphql-core upgrade's new ones too."""
    return {
        name: True
        for name, parameter in signature(get_introspection_query).parameters.items()
        if isinstance(parameter.default, bool)
    }


@pytest.mark.parametrize("profile", sorted(ENABLED))
async def test_graphql_core_introspection_rebuilds_the_schema(profile: str) -> None:
    async with running_bff(ENABLED[profile]) as bff:
        reply = await bff.query(get_introspection_query(**every_option()))

    assert reply.status == 200, reply.body
    assert "errors" not in reply.body
    assert printed(build_client_schema(cast(IntrospectionQuery, reply.data))) == COMMITTED


@pytest.mark.e2e
async def test_graphql_js_introspection_rebuilds_the_schema() -> None:
    node = shutil.which("node")
    assert node, "Node.js is needed to run graphql-js (scripts/system-tools installs it)"
    assert (GRAPHQL_JS / "node_modules" / "graphql").is_dir(), (
        "tests/js has no packages: `npm ci --prefix tests/js` (`make pytest` runs it)"
    )
    async with subscribable_bff() as stack:
        client = await asyncio.create_subprocess_exec(
            node,
            str(GRAPHQL_JS / "introspect.mjs"),
            f"{stack.bff.url}/graphql",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        rebuilt, refused = await client.communicate()

    assert client.returncode == 0, refused.decode()
    assert printed(build_schema(rebuilt.decode())) == COMMITTED


ABUSIVE = [
    # The loop graphql-core's MaxIntrospectionDepthRule names: fields of types of fields...
    pytest.param(
        "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }",
        id="fields",
    ),
    pytest.param(
        '{ __type(name: "Product") { fields { type { fields { type { fields { name } } } } } } }',
        id="type-fields",
    ),
    pytest.param(
        "{ __schema { types { inputFields { type { inputFields { type {"
        " inputFields { name } } } } } } } }",
        id="input-fields",
    ),
    pytest.param(
        "{ __schema { types { ...T } } } "
        "fragment T on __Type { fields { type { fields { type { fields { name } } } } } }",
        id="through-a-fragment",
    ),
    # Deeper than BFF_MAX_DEPTH: what refuses it must still be the introspection rule.
    pytest.param(
        "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType {"
        " fields { type { fields { type { fields { name } } } } } } } } } } } } } } }",
        id="past-max-depth",
    ),
]


@pytest.mark.parametrize("profile", sorted(ENABLED))
@pytest.mark.parametrize("document", ABUSIVE)
async def test_abusive_introspection_is_refused_by_its_own_rule(
    profile: str, document: str
) -> None:
    async with running_bff(ENABLED[profile]) as bff:
        reply = await bff.query(document)

    assert reply.status == 400, reply.body
    assert reply.codes() == ["GRAPHQL_VALIDATION_FAILED"]
    assert reply.errors[0]["message"] == "Maximum introspection depth exceeded"
