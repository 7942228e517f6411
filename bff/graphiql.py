"""GraphiQL, served entirely by the BFF so it works with no internet access.

The page and its script live in `bff/static/ide/`; the React, GraphiQL and
explorer bundles are pinned copies in `bff/static/vendor/` (see
`scripts/vendor-graphiql`). The page opens with the reference operations as
example tabs.
"""

from __future__ import annotations

import html
from pathlib import Path

import orjson
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from bff.examples import REFERENCE_OPERATIONS

ASSETS_PATH = "/graphiql/assets"
STATIC_DIR = Path(__file__).parent / "static"


def page(endpoint: str, *, debug: bool) -> HTMLResponse:
    """The GraphiQL page, rendered once at start-up; `debug` adds the downstream-calls panel."""
    config = {
        "endpoint": endpoint,
        "debug": debug,
        "tabs": [
            {
                "query": example.query,
                "variables": orjson.dumps(
                    dict(example.variables), option=orjson.OPT_INDENT_2
                ).decode()
                if example.variables
                else None,
                "headers": orjson.dumps(dict(example.headers), option=orjson.OPT_INDENT_2).decode()
                if example.headers
                else None,
            }
            for example in REFERENCE_OPERATIONS
        ],
    }
    # `</` must not appear inside the JSON <script> block; escaping `<` keeps it out.
    config_json = orjson.dumps(config).decode().replace("<", "\\u003c")
    template = (STATIC_DIR / "ide" / "index.html").read_text(encoding="utf-8")
    body = template.format(assets=html.escape(ASSETS_PATH), config=config_json)
    return HTMLResponse(body, headers={"cache-control": "no-cache"})


def assets() -> StaticFiles:
    return StaticFiles(directory=STATIC_DIR)
