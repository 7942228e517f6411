"""GraphiQL survives reloads: the page and its assets load whole, every time, in every encoding.

Served the way `make demo` serves it: `bff serve` with two worker processes,
each request on a connection of its own, so both workers answer repeatedly.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from pathlib import Path

import brotli
import httpx
import pytest

from bff.http.graphiql import ASSETS_PATH, STATIC_DIR
from demo.launch import DemoProcess
from tests.e2e.conftest import serving_bff

pytestmark = pytest.mark.e2e

LOADS = 5
DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "identity": bytes,
    "gzip": gzip.decompress,
    "br": brotli.decompress,
}


def load(url: str, encoding: str) -> bytes:
    """The body as sent, decoded from `encoding`, after checking it arrived whole."""
    headers = {"accept": "text/html", "accept-encoding": encoding}
    # A connection per request: uvicorn's workers share the listening socket.
    with httpx.Client() as client, client.stream("GET", url, headers=headers) as response:
        raw = b"".join(response.iter_raw())
    assert response.status_code == 200, url
    assert response.headers.get("content-encoding", "identity") == encoding, url
    if "content-length" in response.headers:
        assert int(response.headers["content-length"]) == len(raw), url
    return DECODERS[encoding](raw)


def test_the_page_and_every_asset_load_whole_on_every_reload(
    stack: DemoProcess, tmp_path: Path
) -> None:
    log = tmp_path / "bff.log"
    with serving_bff(stack, log, BFF_WORKERS="2") as url:
        page = load(f"{url}/graphql", "identity")
        assets = re.findall(r'(?:src|href)="(/[^"]+)"', page.decode())
        pages = [load(f"{url}/graphql", encoding) for encoding in DECODERS for _ in range(LOADS)]
        files = {
            (asset, encoding): [load(f"{url}{asset}", encoding) for _ in range(LOADS)]
            for asset in assets
            for encoding in DECODERS
        }

    assert b"</html>" in page
    assert {unsigned(loaded) for loaded in pages} == {unsigned(page)}
    assert len(assets) == 9
    for (asset, encoding), bodies in files.items():
        original = (STATIC_DIR / asset.removeprefix(f"{ASSETS_PATH}/")).read_bytes()
        assert bodies == [original] * LOADS, (asset, encoding)
    output = log.read_text(encoding="utf-8")
    assert "Traceback" not in output
    assert "ERROR" not in output


def unsigned(page: bytes) -> bytes:
    """The page without its demo token, which each worker signs as it starts."""
    return re.sub(rb"Bearer [\w.-]+", b"Bearer", page)
