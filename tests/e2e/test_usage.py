"""`bff usage deprecated` against a BFF serving over a real socket."""

from __future__ import annotations

import httpx
import pytest

from bff.cli import main
from demo.launch import DemoProcess

pytestmark = pytest.mark.e2e

OLD_APP = '{ product(id: "p11") { priceCents } recommendations(limit: 2) { id } }'


def test_usage_lists_who_uses_what_and_what_nobody_uses(
    own_bff_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # A BFF of its own: its metrics count this test's requests and nobody else's.
    bff_url = own_bff_url
    before = main(["usage", "deprecated", "--metrics-url", f"{bff_url}/metrics"])
    unused = capsys.readouterr().out
    for version in ("3.1", "3.1", "3.2"):
        answer = httpx.post(
            f"{bff_url}/graphql",
            json={"query": OLD_APP},
            headers={"x-client-name": "usage-e2e", "x-client-version": version},
        )
        assert answer.status_code == 200
        assert answer.json()["data"]["product"]["priceCents"] > 0

    assert main(["usage", "deprecated", "--metrics-url", f"{bff_url}/metrics"]) == 0
    lines = capsys.readouterr().out.splitlines()

    assert before == 0
    assert "Product.priceCents: no use seen" in unused.splitlines()
    for coordinate in ("Product.priceCents", "Query.recommendations(limit:)"):
        block = lines[lines.index(next(line for line in lines if line.startswith(coordinate))) :]
        assert block[0].endswith(" uses")
        assert [line.split() for line in block[1:3]] == [
            ["usage-e2e", "3.1", "2"],
            ["usage-e2e", "3.2", "1"],
        ]
    assert not any("no use seen" in line for line in lines)


def test_usage_refuses_a_url_that_is_not_a_bffs_metrics(
    stack: DemoProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"{stack.url('catalog')}/healthz"

    assert main(["usage", "deprecated", "--metrics-url", url]) == 2
    assert capsys.readouterr().err.startswith(f"bff: {url} is not Prometheus text")
