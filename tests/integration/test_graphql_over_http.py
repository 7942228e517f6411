"""GraphQL over HTTP: media types by content negotiation, and compressed responses."""

from __future__ import annotations

import gzip
from pathlib import Path

import brotli
import orjson
import pytest

from bff.contract.examples import CATEGORY_LISTING
from bff.http.compression import chosen_encoding
from bff.http.graphiql import ASSETS_PATH, STATIC_DIR
from bff.http.media import GRAPHQL_RESPONSE_JSON, JSON, negotiate
from tests.harness import Harness


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        ("application/json", JSON),
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}, application/json;q=0.9", GRAPHQL_RESPONSE_JSON),
        (f"application/json, {GRAPHQL_RESPONSE_JSON}", GRAPHQL_RESPONSE_JSON),
        (f"application/json, {GRAPHQL_RESPONSE_JSON};q=0.5", JSON),
        ("text/html,application/xhtml+xml,*/*;q=0.8", JSON),
        ("text/html", None),
        (f"{GRAPHQL_RESPONSE_JSON};q=0", None),
        ("application/json;q=oops", None),
    ],
)
def test_accept_negotiation(accept: str | None, chosen: str | None) -> None:
    assert negotiate(accept) == chosen


@pytest.mark.parametrize(
    ("accept_encoding", "chosen"),
    [
        ("", None),
        ("identity", None),
        ("gzip", "gzip"),
        ("gzip, deflate, br", "br"),
        ("br;q=0, gzip", "gzip"),
        ("gzip;q=1.0, br;q=0.5", "gzip"),
        ("*", "br"),
        ("*;q=0.2, gzip;q=0", "br"),
        ("deflate", None),
    ],
)
def test_encoding_choice(accept_encoding: str, chosen: str | None) -> None:
    assert chosen_encoding(accept_encoding) == chosen


async def test_the_response_media_type_follows_accept(bff: Harness) -> None:
    body = {"query": "{ __typename }"}
    modern = await bff.http.post("/graphql", json=body, headers={"accept": GRAPHQL_RESPONSE_JSON})
    legacy = await bff.http.post("/graphql", json=body)
    wildcard = await bff.http.post("/graphql", json=body, headers={"accept": "*/*"})
    html_only = await bff.http.post("/graphql", json=body, headers={"accept": "text/html"})

    assert modern.headers["content-type"] == f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
    assert legacy.headers["content-type"] == wildcard.headers["content-type"]
    assert legacy.headers["content-type"] == "application/json; charset=utf-8"
    assert modern.json() == legacy.json() == {"data": {"__typename": "Query"}}
    assert html_only.status_code == 406
    assert html_only.json()["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE_JSON, "application/json"])
async def test_null_parameters_are_allowed(bff: Harness, accept: str) -> None:
    response = await bff.http.post(
        "/graphql",
        json={
            "query": "{ __typename }",
            "variables": None,
            "operationName": None,
            "extensions": None,
        },
        headers={"accept": accept},
    )

    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_validation_errors_have_no_data_entry_and_the_status_of_the_media_type(
    bff: Harness,
) -> None:
    body = {"query": "{ nothing }"}
    modern = await bff.http.post("/graphql", json=body, headers={"accept": GRAPHQL_RESPONSE_JSON})
    legacy = await bff.http.post("/graphql", json=body, headers={"accept": "application/json"})

    assert (modern.status_code, legacy.status_code) == (400, 200)
    for response in (modern, legacy):
        assert "data" not in response.json()
        assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_field_errors_with_data_are_200_for_both_media_types(bff: Harness) -> None:
    body = {"query": '{ product(id: "p1") { id } missing: product(id: "p999999") { id } }'}
    modern = await bff.http.post("/graphql", json=body, headers={"accept": GRAPHQL_RESPONSE_JSON})

    assert modern.status_code == 200
    assert modern.json()["data"]["product"] == {"id": "p1"}


async def _raw(bff: Harness, accept_encoding: str) -> tuple[dict[str, str], bytes]:
    """The response to `CategoryListing` as sent on the wire, undecoded."""
    payload = {"query": CATEGORY_LISTING.query, "variables": dict(CATEGORY_LISTING.variables)}
    async with bff.http.stream(
        "POST", "/graphql", json=payload, headers={"accept-encoding": accept_encoding}
    ) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
        return dict(response.headers), raw


async def test_compressed_responses_decode_to_the_same_json(bff: Harness) -> None:
    plain_headers, plain = await _raw(bff, "identity")
    gzip_headers, gzipped = await _raw(bff, "gzip")
    br_headers, brotlied = await _raw(bff, "gzip, br")

    assert "content-encoding" not in plain_headers
    assert gzip_headers["content-encoding"] == "gzip"
    assert br_headers["content-encoding"] == "br"
    assert int(gzip_headers["content-length"]) == len(gzipped)
    assert len(brotlied) < len(gzipped) < len(plain) / 4
    assert orjson.loads(gzip.decompress(gzipped)) == orjson.loads(plain)
    assert orjson.loads(brotli.decompress(brotlied)) == orjson.loads(plain)
    for headers in (plain_headers, gzip_headers, br_headers):
        assert "Accept-Encoding" in headers["vary"]


async def test_small_responses_are_sent_as_they_are(bff: Harness) -> None:
    async with bff.http.stream(
        "POST", "/graphql", json={"query": "{ __typename }"}, headers={"accept-encoding": "br"}
    ) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])

    assert "content-encoding" not in response.headers
    assert orjson.loads(raw) == {"data": {"__typename": "Query"}}


async def test_streamed_static_files_are_compressed_chunk_by_chunk(bff: Harness) -> None:
    name = "vendor/graphiql.min.js"
    original = (Path(STATIC_DIR) / name).read_bytes()
    async with bff.http.stream(
        "GET", f"{ASSETS_PATH}/{name}", headers={"accept-encoding": "br"}
    ) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])

    assert response.headers["content-encoding"] == "br"
    assert "content-length" not in response.headers
    assert brotli.decompress(raw) == original
