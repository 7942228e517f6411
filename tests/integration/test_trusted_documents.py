"""Trusted documents: the manifest, `bff documents add`, and safelist mode."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import httpx
import orjson
import pytest

from bff.cli.main import main
from bff.contract.examples import PRODUCT_PAGE
from tests.harness import Harness, running_bff

MODERN = {"accept": "application/graphql-response+json"}
FRAGMENTED = """
query ProductCard($id: ID!) { product(id: $id) { ...Card } }
fragment Card on Product { id name price { ...Price } }
"""
PRICE = "fragment Price on Money { amount currency }\n"


def _hash(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def _manifest(path: Path) -> list[dict[str, str]]:
    operations = orjson.loads(path.read_bytes())["operations"]
    assert isinstance(operations, list)
    return operations


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    """A manifest built by `bff documents add` from the product page and a fragmented card."""
    (tmp_path / "page.graphql").write_text(PRODUCT_PAGE.query)
    (tmp_path / "card.graphql").write_text(FRAGMENTED)
    (tmp_path / "price.graphql").write_text(PRICE)
    path = tmp_path / "trusted-documents.json"
    files = [str(tmp_path / name) for name in ("page.graphql", "card.graphql", "price.graphql")]
    assert main(["documents", "add", "--manifest", str(path), *files]) == 0
    return path


async def _by_id(bff: Harness, document_id: str, variables: dict[str, str]) -> httpx.Response:
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": document_id}}
    return await bff.http.post(
        "/graphql", json={"variables": variables, "extensions": persisted}, headers=MODERN
    )


def _code(response: httpx.Response) -> str:
    code = response.json()["errors"][0]["extensions"]["code"]
    assert isinstance(code, str)
    return code


def test_documents_add_writes_an_apollo_manifest_with_the_fragments_used(
    manifest: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = orjson.loads(manifest.read_bytes())
    by_name = {operation["name"]: operation for operation in _manifest(manifest)}

    assert document["format"] == "apollo-persisted-query-manifest"
    assert document["version"] == 1
    assert set(by_name) == {"ProductPage", "ProductCard"}
    card = by_name["ProductCard"]
    assert card["type"] == "query"
    assert "fragment Card on Product" in card["body"]
    assert "fragment Price on Money" in card["body"]
    assert card["id"] == _hash(card["body"])
    # Adding the same files again changes nothing.
    before = manifest.read_bytes()
    capsys.readouterr()
    assert (
        main(
            ["documents", "add", "--manifest", str(manifest), str(manifest.parent / "page.graphql")]
        )
        == 0
    )
    assert "0 added, 1 already there" in capsys.readouterr().out
    assert manifest.read_bytes() == before


@pytest.mark.parametrize(
    ("source", "complaint"),
    [
        ("query { __typename }", "every operation needs a name"),
        ("query Broken { product(id: ", "Syntax Error"),
        ("query Unknown { nothing }", "Cannot query field 'nothing'"),
        ('query Lost { product(id: "p1") { ...Missing } }', "fragment Missing is not defined"),
    ],
)
def test_documents_add_refuses_what_would_not_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, complaint: str
) -> None:
    (tmp_path / "bad.graphql").write_text(source)
    manifest = tmp_path / "trusted-documents.json"

    status = main(["documents", "add", "--manifest", str(manifest), str(tmp_path / "bad.graphql")])

    assert status == 1
    assert complaint in capsys.readouterr().err
    assert not manifest.exists()


async def test_safelist_runs_manifest_operations_and_refuses_the_rest(manifest: Path) -> None:
    by_name = {operation["name"]: operation for operation in _manifest(manifest)}
    page = by_name["ProductPage"]
    settings = {"BFF_TRUSTED_DOCUMENTS": str(manifest), "BFF_DOCUMENTS_MODE": "safelist"}

    async with running_bff(settings) as bff:
        by_id = await _by_id(bff, page["id"], {"id": "p3"})
        full_text = await bff.query(page["body"], {"id": "p3"})
        bff.reset_calls()
        other = await bff.query('{ product(id: "p3") { id } }')
        unknown_id = await _by_id(bff, _hash("{ __typename }"), {})
        registration = await bff.http.post(
            "/graphql",
            json={
                "query": "{ __typename }",
                "extensions": {
                    "persistedQuery": {"version": 1, "sha256Hash": _hash("{ __typename }")}
                },
            },
            headers=MODERN,
        )
        calls_for_refusals = bff.calls()

    assert by_id.status_code == 200
    assert by_id.json()["data"]["product"]["id"] == "p3"
    assert full_text.data == by_id.json()["data"]
    for refused in (other.status, unknown_id.status_code, registration.status_code):
        assert refused == 400
    assert other.codes() == ["PERSISTED_QUERY_REQUIRED"]
    assert _code(unknown_id) == _code(registration) == "PERSISTED_QUERY_REQUIRED"
    assert calls_for_refusals == 0


async def test_open_mode_serves_manifest_ids_and_any_other_query(manifest: Path) -> None:
    card = next(op for op in _manifest(manifest) if op["name"] == "ProductCard")

    async with running_bff({"BFF_TRUSTED_DOCUMENTS": str(manifest)}) as bff:
        by_id = await _by_id(bff, card["id"], {"id": "p4"})
        other = await bff.query('{ product(id: "p4") { id } }')

    assert by_id.json()["data"]["product"]["name"]
    assert by_id.json()["data"]["product"]["price"]["currency"] == "EUR"
    assert other.data == {"product": {"id": "p4"}}


async def test_a_plain_id_to_document_map_is_a_manifest_too(tmp_path: Path) -> None:
    path = tmp_path / "relay.json"
    path.write_bytes(orjson.dumps({"relay-id-1": 'query Name { product(id: "p5") { name } }'}))
    settings = {"BFF_TRUSTED_DOCUMENTS": str(path), "BFF_DOCUMENTS_MODE": "safelist"}

    async with running_bff(settings) as bff:
        by_document_id = await bff.http.post(
            "/graphql", json={"documentId": "relay-id-1"}, headers=MODERN
        )

    assert by_document_id.json()["data"]["product"]["name"]


def _overwrite(path: Path, text: str) -> None:
    path.write_text(text)


async def test_a_changed_manifest_is_picked_up_without_restart(
    manifest: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = {
        "BFF_TRUSTED_DOCUMENTS": str(manifest),
        "BFF_DOCUMENTS_MODE": "safelist",
        "BFF_TRUSTED_DOCUMENTS_RELOAD_MS": "20",
    }
    (tmp_path / "new.graphql").write_text('query NewScreen { product(id: "p6") { id } }')

    async with running_bff(settings) as bff:
        before = await bff.query('query NewScreen { product(id: "p6") { id } }')
        assert (
            main(["documents", "add", "--manifest", str(manifest), str(tmp_path / "new.graphql")])
            == 0
        )
        added = next(op for op in _manifest(manifest) if op["name"] == "NewScreen")
        for _ in range(500):
            after = await _by_id(bff, added["id"], {})
            if after.status_code == 200:
                break
            await asyncio.sleep(0.02)
        # A broken edit keeps the last good manifest in force.
        _overwrite(manifest, "{ not json")
        for _ in range(500):
            if any("not reloaded" in record.getMessage() for record in caplog.records):
                break
            await asyncio.sleep(0.02)
        still = await _by_id(bff, added["id"], {})

    assert before.codes() == ["PERSISTED_QUERY_REQUIRED"]
    assert after.json() == {"data": {"product": {"id": "p6"}}}
    assert any("not reloaded" in record.getMessage() for record in caplog.records)
    assert still.json() == after.json()


def test_serve_refuses_to_start_with_an_unreadable_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.json"
    monkeypatch.setenv("BFF_TRUSTED_DOCUMENTS", str(missing))

    assert main(["serve"]) == 2
    assert "cannot read the manifest" in capsys.readouterr().err


def test_safelist_without_a_manifest_is_a_settings_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BFF_DOCUMENTS_MODE", "safelist")

    assert main(["serve"]) == 2
    assert "needs BFF_TRUSTED_DOCUMENTS" in capsys.readouterr().err
