"""The benchmark in its smoke mode: a few seconds, so that it cannot rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.run import MODES
from bff.contract.examples import REFERENCE_OPERATIONS

pytestmark = pytest.mark.e2e


def test_smoke_run_produces_a_complete_table(tmp_path: Path) -> None:
    output = tmp_path / "bench.json"

    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(output.read_text())
    cells = {(row["operation"], row["mode"], row["concurrency"]) for row in report["rows"]}
    expected = {
        (operation.name, mode, concurrency)
        for operation in REFERENCE_OPERATIONS
        for mode in MODES
        for concurrency in (1, 4)
    }
    assert cells == expected
    for row in report["rows"]:
        assert row["errors"] == 0, row
        assert row["peak_rss_mb"] > 0, row
    full = [row for row in report["rows"] if row["mode"] == "full"]
    assert all(row["rps"] > 0 for row in full)
    for operation in REFERENCE_OPERATIONS:
        assert operation.name in result.stdout


def test_the_deferred_product_page_is_benched_in_parts(tmp_path: Path) -> None:
    output = tmp_path / "bench.json"
    command = ["--smoke", "--modes", "cached", "--operations", "ProductPageDeferred"]

    result = subprocess.run(
        [sys.executable, "-m", "bench", *command, "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads(output.read_text())["rows"]
    assert {(row["operation"], row["concurrency"]) for row in rows} == {
        ("ProductPageDeferred", 1),
        ("ProductPageDeferred", 4),
    }
    for row in rows:
        assert row["errors"] == 0, row
        assert row["rps"] > 0, row
