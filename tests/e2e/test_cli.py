"""The `bff` and `bff-demo` command lines, run as a user would."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from demo.launch import free_port, stop, wait_for_line

pytestmark = pytest.mark.e2e


def test_one_downstream_service_runs_alone_with_added_latency() -> None:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "demo.stack",
            "services",
            "catalog",
            "--port",
            str(port),
            "--latency-ms",
            "5",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_line(process, "demo services ready", timeout_s=30)
        answer = httpx.get(f"http://127.0.0.1:{port}/products/p1")
    finally:
        stop(process)

    assert answer.status_code == 200
    assert answer.json()["id"] == "p1"
    assert answer.headers["cache-control"] == "public, max-age=60"
    assert answer.headers["etag"].startswith('"')
    assert process.returncode == 0


def test_settings_lists_every_variable_with_its_default() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bff", "settings"], capture_output=True, text=True, check=True
    )

    assert "BFF_CATALOG_URL=http://127.0.0.1:8102" in result.stdout
    assert "BFF_PORT=8000" in result.stdout


def test_a_bad_setting_stops_start_up_naming_the_variable() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bff", "serve"],
        capture_output=True,
        text=True,
        env={"BFF_PORT": "eighty", "PATH": ""},
        check=False,
    )

    assert result.returncode == 2
    assert "BFF_PORT: must be an integer, got 'eighty'" in result.stderr


async def test_a_printed_token_signs_the_caller_in() -> None:
    from tests.harness import running_bff

    printed = subprocess.run(  # noqa: ASYNC221 - a short child process, nothing else waits
        [
            sys.executable,
            "-m",
            "demo.stack",
            "token",
            "--sub",
            "u7",
            "--scope",
            "orders:write",
            "--roles",
            "admin",
            "--alg",
            "ES256",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()

    async with running_bff() as bff:
        reply = await bff.query(
            '{ me { id } order(id: "o1") { id } }', headers={"Authorization": f"Bearer {printed}"}
        )

    assert reply.data == {"me": {"id": "u7"}, "order": {"id": "o1"}}
