"""GraphiQL, served entirely by the BFF so it works with no internet access.

See docs/development.md, GraphiQL offline.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import orjson
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from bff.contract.examples import GRAPHIQL_TABS

ASSETS_PATH = "/graphiql/assets"
STATIC_DIR = Path(__file__).parents[1] / "static"


@dataclass(frozen=True, slots=True)
class Page:
    """The page, rendered once; each request gets a response of its own.

    A response shared between requests would carry whatever the server or a
    middleware did to one request's headers into the next.
    """

    body: bytes

    def response(self) -> HTMLResponse:
        return HTMLResponse(self.body, headers={"cache-control": "no-cache"})


def page(endpoint: str, *, debug: bool, token: str = "") -> Page:
    """The GraphiQL page, rendered once at start-up.

    `debug` adds the downstream-calls panel; `token` is the bearer token the
    signed-in examples are sent with (BFF_GRAPHIQL_TOKEN; empty: none).
    """

    def pretty(value: Mapping[str, object]) -> str | None:
        return orjson.dumps(dict(value), option=orjson.OPT_INDENT_2).decode() if value else None

    tabs = []
    for example in GRAPHIQL_TABS:
        headers = {}
        if example.signed_in_as and token:
            headers["Authorization"] = f"Bearer {token}"
        tabs.append(
            {
                "query": example.query,
                "variables": pretty(example.variables),
                "headers": pretty(headers),
            }
        )
    config = {"endpoint": endpoint, "debug": debug, "tabs": tabs}
    # `</` must not appear inside the JSON <script> block; escaping `<` keeps it out.
    config_json = orjson.dumps(config).decode().replace("<", "\\u003c")
    template = (STATIC_DIR / "ide" / "index.html").read_text(encoding="utf-8")
    body = template.format(assets=html.escape(ASSETS_PATH), config=config_json)
    return Page(body.encode())


def assets() -> StaticFiles:
    return StaticFiles(directory=STATIC_DIR)
