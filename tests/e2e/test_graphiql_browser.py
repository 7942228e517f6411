"""GraphiQL in headless Chromium, with every request off this machine refused."""

from __future__ import annotations

import shutil
from urllib.parse import urlsplit

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
RESULT_HAS = "text => document.querySelector('.result-window').innerText.includes(text)"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.browser,
    pytest.mark.skipif(
        shutil.which("chromium") is None,
        reason="Chromium is not installed (apt-get install chromium; .ci/run does this)",
    ),
]


def test_graphiql_runs_a_query_offline(bff_url: str) -> None:
    from playwright.sync_api import Route, sync_playwright

    offsite: list[str] = []

    def only_loopback(route: Route) -> None:
        host = urlsplit(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            offsite.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
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
            page.wait_for_selector(".graphiql-query-editor .CodeMirror")
            tabs = page.locator(".graphiql-tab").all_inner_texts()
            # The first example tab runs as it comes, variables included.
            page.click("button.graphiql-execute-button")
            page.wait_for_function(RESULT_HAS, arg='"id": "p1"')
            example = page.inner_text(".result-window")
            page.click(".graphiql-query-editor .CodeMirror")
            page.keyboard.press("Control+A")
            page.keyboard.insert_text("{ __typename }")
            # GraphiQL re-reads the operation name from the editor shortly after an edit.
            page.wait_for_timeout(500)
            page.click("button.graphiql-execute-button")
            page.wait_for_function(RESULT_HAS, arg="__typename")
            result = page.inner_text(".result-window")
        finally:
            browser.close()

    assert '"name": ' in example
    assert '"__typename": "Query"' in result
    assert offsite == []
    assert any("ProductPage" in tab for tab in tabs)
