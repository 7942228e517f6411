"""GraphiQL in headless Chromium, with every request off this machine refused.

A developer's first contact: the page loads and reloads, the docs explorer and
autocompletion know the schema, and the example tabs run, the subscription
over a WebSocket.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from graphql import build_schema

from bff.contract.examples import GRAPHIQL_TABS
from demo.launch import DemoProcess, launch
from schema import build_schema as build_running
from tests.e2e.conftest import serving_bff

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
RESULT_HAS = "text => document.querySelector('.result-window').innerText.includes(text)"
RESULT_HAS_ANY = (
    "texts => texts.some(text => document.querySelector('.result-window').innerText.includes(text))"
)
EDITOR = ".graphiql-query-editor .CodeMirror"

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture
def own_stack() -> Iterator[DemoProcess]:
    """Demo services of this test's own, so the first order placed is o10034, as the tab says."""
    stack = launch()
    try:
        yield stack
    finally:
        stack.stop()


def test_graphiql_reloads_documents_the_schema_and_runs_the_examples_offline(
    own_stack: DemoProcess, tmp_path: Path
) -> None:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import Route, sync_playwright

    assert Path(CHROMIUM).exists(), "Chromium is not installed: scripts/system-tools installs it"

    query = build_schema(build_running().as_str()).query_type
    assert query is not None
    offsite: list[str] = []

    def only_loopback(route: Route) -> None:
        host = urlsplit(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            offsite.append(route.request.url)
            route.abort()

    log = tmp_path / "bff.log"
    with (
        serving_bff(own_stack, log, BFF_WORKERS="1", BFF_LOG_FORMAT="json") as bff_url,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page()
            page.route("**/*", only_loopback)
            page.goto(f"{bff_url}/graphql", wait_until="networkidle")
            page.wait_for_selector(EDITOR)
            # Each load is a whole page: the editor is drawn every time.
            reloaded = []
            for _ in range(2):
                page.reload(wait_until="networkidle")
                page.wait_for_selector(EDITOR)
                reloaded.append(page.inner_text(EDITOR))
            tabs = page.locator(".graphiql-tab").all_inner_texts()
            # The docs explorer lists the fields the schema fetch brought.
            page.click("button[aria-label='Show Documentation Explorer']")
            query_type = page.locator(".graphiql-doc-explorer-type-name >> text=Query")
            schema_error = page.locator(".graphiql-doc-explorer-error")
            query_type.or_(schema_error).wait_for()
            assert schema_error.all_inner_texts() == [], "GraphiQL's schema fetch failed"
            query_type.click()
            page.wait_for_selector(".graphiql-doc-explorer-title >> text=Query")
            documented = dict(
                page.locator(".graphiql-doc-explorer-item").evaluate_all(
                    """items => items.map(item => [
                        item.querySelector('.graphiql-doc-explorer-field-name').innerText,
                        item.querySelector('.graphiql-markdown-description')?.innerText.trim(),
                    ])"""
                )
            )
            # The example tabs run as they come, with their variables and headers.
            page.click('.graphiql-tab >> text="ProductPage"')
            page.click("button.graphiql-execute-button")
            page.wait_for_function(RESULT_HAS, arg='"id": "p1"')
            product_page = page.inner_text(".result-window")
            # The downstream-calls panel draws the timeline the result pane leaves out.
            page.click("button[aria-label='Show Downstream calls']")
            page.wait_for_selector("#bff-debug-panel table")
            panel = page.inner_text("#bff-debug-panel")
            rows = page.locator("#bff-debug-panel tbody tr").count()
            audit = Axe().run(page, context="#bff-debug-panel")
            page.focus("#bff-debug-panel button")
            focused = page.evaluate("document.activeElement.textContent")
            # The deferred product page fills the result pane in as its parts arrive,
            # and the panel says when each went out.
            page.click(".graphiql-tab >> text=ProductPageDeferred")
            page.click("button.graphiql-execute-button")
            page.wait_for_function(RESULT_HAS, arg='"reviews"')
            page.wait_for_selector("#bff-debug-panel >> text=parts sent")
            deferred_page = page.inner_text(".result-window")
            parts_panel = page.inner_text("#bff-debug-panel")
            page.click(".graphiql-tab >> text=HomeFeed")
            page.click("button.graphiql-execute-button")
            page.wait_for_function(RESULT_HAS, arg="Ada Lovelace")
            # Typing a field offers the schema's fields of that name.
            page.click("button[aria-label='Add tab']")
            page.click(EDITOR)
            page.keyboard.press("Control+A")
            page.keyboard.type("{ pro")
            hints = hinted(page)
            # A new tab holds no operation name, so the typed document runs as sent.
            page.keyboard.press("Control+A")
            page.keyboard.insert_text("{ __typename }")
            page.click("button.graphiql-execute-button")
            page.wait_for_function(RESULT_HAS, arg="__typename")
            result = page.inner_text(".result-window")
            # The walk-through in docs/subscriptions.md: place an order, then follow it from the
            # OrderStatus tab (a subscription over a WebSocket, signed in by the
            # tab's headers), run as soon as the tab is open.
            page.click(".graphiql-tab >> text=PlaceOrder")
            page.click("button.graphiql-execute-button")
            page.wait_for_function(RESULT_HAS_ANY, arg=['"placeOrder"', '"errors"'])
            placed = page.inner_text(".result-window")
            page.click(".graphiql-tab >> text=OrderStatus")
            page.click("button.graphiql-execute-button")
            page.wait_for_function(RESULT_HAS_ANY, arg=['"orderStatus"', '"errors"'])
            followed = page.inner_text(".result-window")
        finally:
            browser.close()

    logged = log.read_text(encoding="utf-8").splitlines()
    lines = [json.loads(line) for line in logged if line.startswith("{")]

    assert reloaded == [reloaded[0]] * 2
    assert "query ProductPage" in reloaded[0]
    assert list(documented) == list(query.fields)
    assert documented["order"] == query.fields["order"].description
    assert hints == [name for name in query.fields if name.startswith("pro")]
    assert '"name": ' in product_page
    assert '"debug"' not in product_page
    assert "Trace id" in panel
    assert '"rating": ' in deferred_page
    assert '"hasNext"' not in deferred_page
    assert '"debug"' not in deferred_page
    assert "3 parts sent" in parts_panel
    assert "reviews" in parts_panel
    assert "catalog" in panel
    assert rows >= 1
    assert focused == "Copy trace id"
    serious = [
        violation["id"]
        for violation in audit.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert serious == []
    assert '"__typename": "Query"' in result
    assert '"id": "o10034"' in placed
    assert '"id": "o10034"' in followed
    assert '"status": ' in followed
    assert "errors" not in followed
    assert offsite == []
    # Reloads add no tab: GraphiQL reopens the example tabs as they were.
    assert tabs == [example.name for example in GRAPHIQL_TABS]
    # GraphiQL's schema fetch (the standard introspection query) was served,
    # and no operation of the run was refused.
    operations = [line for line in lines if line["logger"] == "bff.operation"]
    assert "IntrospectionQuery" in {line["operation_name"] for line in operations}
    assert [line for line in operations if line["outcome"] == "error"] == []


def hinted(page: Page) -> list[str]:
    """The names the editor's autocompletion list offers, once it is open."""
    page.wait_for_selector(".CodeMirror-hints li")
    names = page.locator(".CodeMirror-hints li").all_inner_texts()
    page.keyboard.press("Escape")
    return names
