"""The cheapest requests that make the BFF work hardest, each refused cheaply.

Every case goes through the app and must get a coded GraphQL JSON error with
the right status; the work it caused is counted (selections measured,
tokens counted, cache bytes, bucket units), never timed.
"""

from __future__ import annotations

import re

import orjson
import pytest
from graphql import (
    FragmentDefinitionNode,
    OperationDefinitionNode,
    get_introspection_query,
    parse,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bff.execution.documents import _TOKEN, count_tokens
from bff.execution.errors import Refusal
from bff.execution.limits import SATURATED, Limits, measure
from bff.http.last_resort import LastResort
from bff.security.rate_limit import BYTES_PER_UNIT
from schema import build_schema
from tests.harness import Clock, Harness, Json, Reply, running_bff

SCHEMA = build_schema()._schema
RELATED_CUBED = (
    '{ product(id: "p1") { related(first: 999999999) { related(first: 999999999) '
    "{ related(first: 999999999) { id } } } } }"
)


def fan_out(fragments: int) -> str:
    """`fragments` fragments, each spreading the next twice: 2^n fields once expanded."""
    spreads = " ".join(
        f"fragment F{n} on Query {{ ...F{n + 1} ...F{n + 1} }}" for n in range(fragments)
    )
    return f"{{ ...F0 }} {spreads} fragment F{fragments} on Query {{ __typename }}"


def chain(links: int) -> str:
    """A chain of fragments, each spreading the next once."""
    spreads = " ".join(f"fragment C{n} on Query {{ ...C{n + 1} }}" for n in range(links))
    return f"{{ ...C0 }} {spreads} fragment C{links} on Query {{ __typename }}"


def refused(reply: Reply, code: str, status: int = 400) -> Json:
    """The one error of a refusal: coded, with the status the media type asks for."""
    assert reply.status == status, reply.body
    assert "data" not in reply.body
    (error,) = reply.errors
    assert error["extensions"]["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    return error


async def test_list_sizes_that_multiply_past_2_to_the_64_are_refused_in_json(
    bff: Harness,
) -> None:
    reply = await bff.query(RELATED_CUBED)

    error = refused(reply, "OPERATION_LIMIT_EXCEEDED")
    extensions = error["extensions"]
    assert extensions["limit"] == "estimated cost"
    assert 20_000 < extensions["measured"] <= SATURATED
    assert bff.calls() == 0


async def test_an_integer_literal_of_thousands_of_digits_is_measured_without_converting_it(
    bff: Harness,
) -> None:
    digits = "9" * 4_500  # past the interpreter's own limit on converting digits
    reply = await bff.query(f'{{ product(id: "p1") {{ related(first: {digits}) {{ id }} }} }}')

    error = refused(reply, "OPERATION_LIMIT_EXCEEDED")
    assert error["extensions"]["measured"] == SATURATED


def test_each_fragment_is_measured_once_however_often_it_is_spread() -> None:
    document = parse(fan_out(16))
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)

    measures = measure(SCHEMA, fragments, operation, Limits())

    # 2^16 fields once expanded, counted by visiting the document's 34 selections once each.
    assert measures.cost == 2**16
    assert measures.selections == 1 + 16 * 2 + 1


def test_counts_saturate_instead_of_growing_past_what_json_carries() -> None:
    operation = parse(RELATED_CUBED).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)

    assert measure(SCHEMA, {}, operation, Limits()).cost == SATURATED


async def test_fragment_fan_out_is_refused_by_its_cost(bff: Harness) -> None:
    reply = await bff.query(fan_out(22))

    error = refused(reply, "OPERATION_LIMIT_EXCEEDED")
    assert error["extensions"]["limit"] == "estimated cost"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            "{ ...A } fragment A on Query { ...A }",
            "Cannot spread fragment 'A' within itself.",
        ),
        (
            '{ ...A } fragment A on Query { product(id: "p1") { ...B } } '
            "fragment B on Product { related { ...C } } fragment C on Product { ...B }",
            "Cannot spread fragment 'B' within itself via 'C'.",
        ),
    ],
    ids=["itself", "through a field"],
)
async def test_a_fragment_cycle_gets_the_validation_rules_error(
    bff: Harness, document: str, message: str
) -> None:
    error = refused(await bff.query(document), "GRAPHQL_VALIDATION_FAILED")

    assert error["message"] == message
    assert error["locations"]


async def test_a_chain_of_fragments_deeper_than_validation_goes_is_refused_without_recursion() -> (
    None
):
    async with running_bff({"BFF_MAX_TOKENS": "20000"}) as bff:
        reply = await bff.query(chain(1_500))

    error = refused(reply, "OPERATION_LIMIT_EXCEEDED")
    assert error["extensions"]["limit"] == "selection set nesting"


def test_an_unterminated_string_never_makes_the_token_count_search_again() -> None:
    # Quadratic scans come from a string pattern that fails and is retried
    # from every later quote: here every quote starts a match that succeeds.
    document = '"\\' * 20_000 + '\n"abc\n' + '"""never closed'
    starts = [match.start() for match in re.finditer('"', document)]

    assert all(_TOKEN.match(document, start) is not None for start in starts)
    assert count_tokens(document, 5_000) == 3


def test_the_token_count_stops_past_the_limit() -> None:
    assert count_tokens("a " * 100_000, 5_000) == 5_001


async def test_an_unterminated_string_fills_the_body_and_is_a_parse_error(bff: Harness) -> None:
    reply = await bff.query('"\\' * 20_000)  # 80 KB once in JSON

    refused(reply, "GRAPHQL_PARSE_FAILED")


@pytest.mark.parametrize(
    "document",
    [
        '{ product(id: "p1") { ' + "related { id } " * 900 + "} }",
        '{ product(id: "p1") { ' + "id " * 4_000 + "} }",
    ],
    ids=["repeated fields with selections", "repeated leaves"],
)
async def test_fields_that_overlap_too_often_exhaust_the_validation_budget(
    bff: Harness, document: str
) -> None:
    error = refused(await bff.query(document), "OPERATION_LIMIT_EXCEEDED")

    assert error["extensions"]["limit"] == "validation work"
    assert "BFF_MAX_VALIDATION_WORK" in str(error["message"])


async def test_the_standard_introspection_query_is_not_refused_by_the_data_depth_limit(
    bff: Harness,
) -> None:
    reply = await bff.query(get_introspection_query(descriptions=True))

    assert reply.status == 200, reply.body
    assert reply.data["__schema"]["queryType"]["name"] == "Query"


async def test_abusive_introspection_is_refused_by_its_own_rule(bff: Harness) -> None:
    nested = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"

    error = refused(await bff.query(nested), "GRAPHQL_VALIDATION_FAILED")

    assert "Maximum introspection depth exceeded" in str(error["message"])


async def test_refused_documents_are_kept_without_their_parsed_form() -> None:
    async with running_bff() as bff:
        operations = bff.operations
        before = operations.cache_bytes()
        for n in range(50):
            # Parses, passes the limits, fails validation: 10 KB each.
            document = f'{{ unknown{n}(text: "{"x" * 9_960}") }}'
            reply = await bff.query(document)
            refused(reply, "GRAPHQL_VALIDATION_FAILED")
        kept = operations.cache_bytes() - before
        refusal = operations.known(document, None)

    # Each refusal weighs its text and its messages, not an AST hundreds of times larger:
    # what is kept of it is plain data, as sent.
    assert 50 * 9_900 < kept < 50 * (10_000 + 2_048)
    assert isinstance(refusal, Refusal)
    assert orjson.loads(orjson.dumps(refusal.errors)) == list(refusal.errors)


async def test_plans_per_document_are_bounded_by_the_cache() -> None:
    variables = [f"$v{n}: Boolean!" for n in range(8)]
    fields = " ".join(f"a{n}: __typename @include(if: $v{n})" for n in range(8))
    document = f"query Q({', '.join(variables)}) {{ {fields} }}"
    async with running_bff({"BFF_DOCUMENT_CACHE_MB": "1"}) as bff:
        operations = bff.operations
        for combination in range(2**8):
            values = {f"v{n}": bool(combination >> n & 1) for n in range(8)}
            reply = await bff.query(document, values)
            assert reply.status == 200
        plans = operations.plan_cache_bytes()

    assert 0 < plans <= 1024 * 1024 // 4


@pytest.mark.parametrize("accept", ["application/json", "application/graphql-response+json"])
async def test_a_body_that_is_not_json_is_400_whatever_the_accept(
    bff: Harness, accept: str
) -> None:
    response = await bff.http.post(
        "/graphql",
        content=b'{"query": "{ __typename }"',
        headers={"content-type": "application/json", "accept": accept},
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


CLOSED = {"BFF_INTROSPECTION": "false"}


@pytest.mark.parametrize("introspection", [True, False])
async def test_suggestions_spell_the_schema_out_only_while_introspection_is_on(
    introspection: bool,
) -> None:
    async with running_bff({} if introspection else CLOSED) as bff:
        field = await bff.query('{ product(id: "p1") { nme } }')
        variable = await bff.query(
            "mutation M($input: PlaceOrderInput!) { placeOrder(input: $input, "
            'idempotencyKey: "k") { id } }',
            {"input": {"lnes": []}},
        )

    for reply in (field, variable):
        messages = " ".join(error["message"] for error in reply.errors)
        assert ("Did you mean" in messages) == introspection, messages


LIMITED = {
    "BFF_RATE_LIMIT": "true",
    "BFF_RATE_LIMIT_CAPACITY": "5",
    "BFF_RATE_LIMIT_REFILL_PER_S": "1",
}


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"not json", {}),
        (b'{"query": "{ nothing }"}', {}),
        (b'{"query": "{ __typename "}', {}),
        (
            b'{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "'
            + b"0" * 64
            + b'"}}}',
            {},
        ),
        (b'{"query": "{ __typename }"}', {"authorization": "Bearer not-a-token"}),
    ],
    ids=["not json", "invalid", "unparsable", "unknown hash", "bad token"],
)
async def test_refused_requests_are_charged_to_the_caller(
    body: bytes, headers: dict[str, str]
) -> None:
    # The buckets refill by this clock, which stands still.
    async with running_bff(LIMITED, clock=Clock()) as bff:
        before = await bff.query("{ __typename }")
        refusals = []
        for _ in range(4):
            response = await bff.http.post(
                "/graphql", content=body, headers={"content-type": "application/json", **headers}
            )
            refusals.append(response.json()["errors"][0]["extensions"]["code"])
        after = await bff.query("{ __typename }")

    assert before.status == 200
    assert "RATE_LIMITED" not in refusals
    # One good request and four refusals empty the bucket of five.
    refused(after, "RATE_LIMITED", 429)


async def test_a_new_document_pays_for_its_size_before_it_is_parsed() -> None:
    size = 3_000 * BYTES_PER_UNIT
    document = "{ __typename }" + " " * size
    env = {**LIMITED, "BFF_RATE_LIMIT_CAPACITY": "2000", "BFF_MAX_BODY_BYTES": "400000"}
    async with running_bff(env, clock=Clock()) as bff:
        operations = bff.operations
        reply = await bff.query(document)
        misses = operations.document_cache_counts()[1]

    error = refused(reply, "RATE_LIMITED", 429)
    assert "Too many requests" in str(error["message"])
    assert misses == 0  # never parsed


async def through_last_resort(app: ASGIApp, scope: Scope) -> list[Message]:
    """The messages `LastResort` sends for `app`, answering one request."""
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    await LastResort(app)(scope, receive, send)
    return sent


async def test_an_exception_escaping_the_app_is_answered_in_json_with_the_request_id() -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("a bug")

    scope: Scope = {"type": "http", "headers": [(b"x-request-id", b"req-42")]}
    start, body = await through_last_resort(broken, scope)

    assert start["status"] == 500
    assert (b"content-type", b"application/json; charset=utf-8") in start["headers"]
    assert (b"x-request-id", b"req-42") in start["headers"]
    assert orjson.loads(body["body"]) == {
        "errors": [
            {
                "message": "Internal server error",
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-42"},
            }
        ]
    }


async def test_an_exception_after_the_response_started_sends_nothing_more() -> None:
    async def half(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("a bug")

    sent = await through_last_resort(half, {"type": "http", "headers": []})

    assert [message["type"] for message in sent] == ["http.response.start"]


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/nowhere", 404, "NOT_FOUND"),
        ("GET", "/graphiql/assets/missing.js", 404, "NOT_FOUND"),
        ("POST", "/healthz", 405, "METHOD_NOT_ALLOWED"),
    ],
)
async def test_what_no_endpoint_serves_is_refused_in_json(
    bff: Harness, method: str, path: str, status: int, code: str
) -> None:
    response = await bff.http.request(method, path, headers={"x-request-id": "req-7"})

    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-request-id"] == "req-7"
    assert response.json()["errors"][0]["extensions"]["code"] == code
