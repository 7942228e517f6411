"""GraphiQL is served from the BFF itself: page, assets and their integrity."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from bff.http.graphiql import STATIC_DIR
from tests.harness import Harness, running_bff

VENDOR = STATIC_DIR / "vendor"


async def test_browsers_get_the_page_with_the_reference_operations(bff: Harness) -> None:
    response = await bff.http.get("/graphql", headers={"accept": "text/html,*/*"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    for name in ("ProductPage", "CategoryListing", "HomeFeed"):
        assert f"query {name}" in response.text


async def test_every_load_of_the_page_is_the_whole_page(bff: Harness) -> None:
    headers = {"accept": "text/html", "accept-encoding": "gzip"}
    loads = [await bff.http.get("/graphql", headers=headers) for _ in range(3)]

    assert [load.headers["content-encoding"] for load in loads] == ["gzip"] * 3
    assert [load.content for load in loads] == [loads[0].content] * 3
    assert loads[0].content.rstrip().endswith(b"</html>")


async def test_every_asset_the_page_names_is_served_locally(bff: Harness) -> None:
    page = (await bff.http.get("/graphql", headers={"accept": "text/html"})).text
    assets = re.findall(r'(?:src|href)="(/[^"]+)"', page)

    assert len(assets) == 9
    assert not re.search(r"https?://", page)
    for asset in assets:
        response = await bff.http.get(asset)
        assert response.status_code == 200, asset
        assert len(response.content) > 500, asset


def test_vendored_files_match_their_recorded_checksums() -> None:
    recorded = (VENDOR / "SHA256SUMS").read_text(encoding="utf-8").splitlines()

    assert len(recorded) == 6
    for line in recorded:
        digest, name = line.split()
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    licences = {path.name for path in (VENDOR / "licenses").iterdir()}
    assert licences == {
        "graphiql.LICENSE",
        "plugin-explorer.LICENSE",
        "react.LICENSE",
        "react-dom.LICENSE",
    }


async def test_production_profile_serves_no_graphiql() -> None:
    async with running_bff({"BFF_PROFILE": "production"}) as bff:
        page = await bff.http.get("/graphql", headers={"accept": "text/html"})
        asset = await bff.http.get("/graphiql/assets/ide/ide.js")

    # Only HTML is acceptable to this caller, and the endpoint sends none.
    assert page.headers["content-type"] == "application/json; charset=utf-8"
    assert page.status_code == 406
    assert page.json()["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"
    assert asset.status_code == 404


def test_page_template_has_no_inline_script() -> None:
    template = (Path(STATIC_DIR) / "ide" / "index.html").read_text(encoding="utf-8")

    inline = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", template)
    assert inline == []


async def test_signed_in_examples_send_the_token_the_settings_give() -> None:
    async with running_bff({"BFF_GRAPHIQL_TOKEN": "dev.token.u1"}) as bff:
        given = (await bff.http.get("/graphql", headers={"accept": "text/html"})).text
    async with running_bff() as bff:
        none = (await bff.http.get("/graphql", headers={"accept": "text/html"})).text

    assert "Bearer dev.token.u1" in given
    assert "Bearer" not in none
