"""Deprecated fields and arguments: they keep working, and every use is counted."""

from __future__ import annotations

import pytest
from graphql import GraphQLSchema, build_schema, get_operation_ast, parse

from bff.cli.main import main
from bff.contract.deprecation_usage import Usage, add_usage, report
from bff.execution.deprecation import deprecated_coordinates, deprecated_usage
from bff.execution.limits import Limits, measure
from demo.launch import free_port
from schema import build_schema as build_running
from tests.harness import Harness, running_bff, sample

SCHEMA = build_running()._schema
PRICE_CENTS = "Product.priceCents"
LIMIT = "Query.recommendations(limit:)"

OLD_APP = """query OldHome {
  product(id: "p1") { priceCents price { cents currency } }
  recommendations(limit: 3) { id }
}"""
NEW_APP = "{ recommendations(first: 3) { id } }"
FRAGMENTS = """query Listing {
  products(first: 2) { nodes { ...Tile } }
  product(id: "p3") { ... on Product { id } }
}
fragment Tile on Product { name ...Price }
fragment Price on Product { priceCents }"""
CACHED = '{ product(id: "p2") { priceCents } }'

WEB = {"apollographql-client-name": "web", "apollographql-client-version": "1.4.0"}
IOS = {"x-client-name": "ios", "x-client-version": "7.2"}


def used(query: str, *, schema: GraphQLSchema = SCHEMA, name: str | None = None) -> list[str]:
    document = parse(query)
    operation = get_operation_ast(document, name)
    assert operation is not None
    return list(deprecated_usage(schema, document, operation))


async def test_the_deprecated_field_and_argument_still_answer(bff: Harness) -> None:
    old = await bff.query(OLD_APP)
    new = await bff.query(NEW_APP)
    refused = await bff.query("{ recommendations(limit: 0) { id } }")

    product = old.data["product"]
    assert product["priceCents"] == product["price"]["cents"] > 0
    assert product["price"]["currency"] == "EUR"
    assert old.data["recommendations"] == new.data["recommendations"]
    assert len(old.data["recommendations"]) == 3
    assert refused.errors[0]["message"] == "`limit` must be between 1 and 50, got 0"
    assert refused.codes() == ["BAD_USER_INPUT"]


def test_the_deprecated_size_argument_costs_like_first() -> None:
    def cost(query: str) -> int:
        operation = get_operation_ast(parse(query))
        assert operation is not None
        return measure(SCHEMA, {}, operation, Limits()).cost

    assert cost("{ recommendations(limit: 50) { id } }") == 100
    assert cost("{ recommendations(limit: 50) { id } }") == cost(
        "{ recommendations(first: 50) { id } }"
    )
    assert cost("{ recommendations { id } }") == 20


def test_the_schema_lists_its_deprecated_coordinates_with_reasons() -> None:
    deprecated = deprecated_coordinates(SCHEMA)

    assert list(deprecated) == [PRICE_CENTS, LIMIT]
    assert deprecated[PRICE_CENTS].startswith("Use `price { amount currency }`")
    assert deprecated[LIMIT] == "Use `first`, as every list of this API does."


def test_an_operation_uses_what_it_and_its_fragments_select() -> None:
    assert used(OLD_APP) == [PRICE_CENTS, LIMIT]
    assert used(NEW_APP) == []
    # Through two levels of fragments, and through inline fragments.
    assert used(FRAGMENTS) == [PRICE_CENTS]
    assert used("{ a: product(id: 1) { ... on Product { priceCents } } }") == [PRICE_CENTS]
    # Only what the operation run reaches counts, not its document's other operations.
    two = """query A { ...Old } query B { ...New }
    fragment Old on Query { recommendations(limit: 1) { id } }
    fragment New on Query { recommendations(first: 1) { id } }"""
    assert used(two, name="A") == [LIMIT]
    assert used(two, name="B") == []


def test_enum_values_input_fields_and_directive_arguments_count_as_literals() -> None:
    schema = build_schema("""
        directive @mark(old: Int @deprecated(reason: "d"), new: Int) on FIELD
        enum Colour { RED BLUE @deprecated(reason: "b") }
        input Filter { colour: Colour, old: Int @deprecated(reason: "i"), size: Int }
        type Query { colours(filter: [Filter!]): [Colour!] }
    """)

    assert used("{ colours(filter: [{colour: BLUE, old: 1}]) @mark(old: 1) }", schema=schema) == [
        "@mark(old:)",
        "Colour.BLUE",
        "Filter.old",
    ]
    assert used("{ colours(filter: [{colour: RED, size: 1}]) @mark(new: 1) }", schema=schema) == []
    # Values given by variables are not seen.
    assert used("query ($f: [Filter!]) { colours(filter: $f) }", schema=schema) == []
    assert list(deprecated_coordinates(schema)) == ["@mark(old:)", "Colour.BLUE", "Filter.old"]


async def test_uses_are_counted_per_client_name_and_version() -> None:
    async with running_bff() as bff:
        for _ in range(2):
            await bff.query(OLD_APP, headers=WEB)
            await bff.query(CACHED, headers=IOS)  # the second answered by the response cache
        await bff.query(FRAGMENTS, headers=IOS)
        await bff.query(NEW_APP, headers={"x-client-name": "web", "x-client-version": "2.0.0"})
        await bff.query(OLD_APP)
        samples = await bff.metrics()

    def uses(coordinate: str, name: str, version: str) -> float:
        return sample(
            samples,
            "bff_deprecated_usage_total",
            coordinate=coordinate,
            client_name=name,
            client_version=version,
        )

    assert uses(PRICE_CENTS, "web", "1.4.0") == 2
    assert uses(LIMIT, "web", "1.4.0") == 2
    assert uses(PRICE_CENTS, "ios", "7.2") == 3
    assert uses(LIMIT, "ios", "7.2") == 0
    assert uses(PRICE_CENTS, "unknown", "unknown") == 1
    assert sample(samples, "bff_cache_lookups_total", cache="response", result="hit") == 1
    clients = {
        (labels["client_name"], labels["client_version"])
        for name, pairs in samples
        if name == "bff_deprecated_usage_total"
        for labels in [dict(pairs)]
    }
    # The new app version ran, and used nothing deprecated.
    assert clients == {("web", "1.4.0"), ("ios", "7.2"), ("unknown", "unknown")}
    new_app = {"client_name": "web", "client_version": "2.0.0"}
    requests = sample(
        samples,
        "bff_graphql_requests_total",
        operation_name="unknown",
        operation_type="query",
        outcome="ok",
        **new_app,
    )
    assert requests == 1


async def test_client_labels_stay_bounded() -> None:
    async with running_bff({"BFF_METRICS_MAX_CLIENTS": "1"}) as bff:
        for version in ("1", "2", "3"):
            await bff.query(CACHED, headers={"x-client-name": "app", "x-client-version": version})
        samples = await bff.metrics()

    counted = {
        pairs: value
        for (name, pairs), value in samples.items()
        if name == "bff_deprecated_usage_total"
    }
    assert counted == {
        (("client_name", "app"), ("client_version", "1"), ("coordinate", PRICE_CENTS)): 1,
        (("client_name", "other"), ("client_version", "other"), ("coordinate", PRICE_CENTS)): 2,
    }


async def test_the_debug_view_lists_the_deprecations_used(bff: Harness) -> None:
    reply = await bff.query(OLD_APP, headers={"x-bff-debug": "1"})
    plain = await bff.query(NEW_APP, headers={"x-bff-debug": "1"})

    deprecated = reply.body["extensions"]["debug"]["deprecated"]
    assert [entry["coordinate"] for entry in deprecated] == [PRICE_CENTS, LIMIT]
    assert deprecated[1]["reason"] == "Use `first`, as every list of this API does."
    assert plain.body["extensions"]["debug"]["deprecated"] == []


async def test_the_usage_report_reads_a_bffs_metrics() -> None:
    async with running_bff() as bff:
        await bff.query(OLD_APP, headers=WEB)
        for _ in range(3):
            await bff.query(FRAGMENTS, headers=IOS)
        first = (await bff.http.get("/metrics")).text
    async with running_bff() as bff:  # a second process, counting on its own
        await bff.query(OLD_APP, headers=IOS)
        second = (await bff.http.get("/metrics")).text
    usage: Usage = {}
    add_usage(usage, first)
    add_usage(usage, second)

    assert report(usage, deprecated_coordinates(SCHEMA)) == [
        "Product.priceCents: 5 uses",
        "  ios  7.2    4",
        "  web  1.4.0  1",
        "Query.recommendations(limit:): 2 uses",
        "  ios  7.2    1",
        "  web  1.4.0  1",
    ]
    assert report({}, deprecated_coordinates(SCHEMA)) == [
        "Product.priceCents: no use seen",
        "Query.recommendations(limit:): no use seen",
    ]


def test_usage_says_which_url_it_cannot_read(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}/metrics"

    assert main(["usage", "deprecated", "--metrics-url", url]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"bff: cannot read {url}: ")
    assert captured.out == ""
