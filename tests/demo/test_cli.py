import asyncio
import contextlib
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest

from demo.cli import main
from demo.services import ALL_NAMES, SERVICE_NAMES

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["catalog", "reviews", "--port", "9000"], "--port needs exactly one service"),
        (["shipping"], "unknown service 'shipping'"),
        (["catalog", "--port", "9000", "--base-port", "9100"], "exclude each other"),
        (["--error-rate", "2"], "error_rate must be between 0 and 1"),
    ],
)
def test_bad_command_lines_are_refused(
    argv: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert complaint in capsys.readouterr().err


def _free_base_port() -> int:
    """A base port B with B+1..B+7 all free right now."""
    for base in range(20_100, 60_000, 97):
        with contextlib.ExitStack() as stack:
            try:
                for port in range(base + 1, base + len(ALL_NAMES) + 1):
                    sock = stack.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return base
    raise AssertionError("no free port range")


CHECKS = {
    "accounts": "/users/u1",
    "catalog": "/products/p1",
    "inventory": "/stock?productIds=p1",
    "reviews": "/reviews/summary?productIds=p1",
    "orders": "/orders?userId=u1",
    "recommendations": "/recommendations/u1",
}


async def test_all_services_run_on_loopback_and_stop_on_sigterm() -> None:
    base = _free_base_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "demo",
        "all",
        "--base-port",
        str(base),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not lines or lines[-1] != "demo services ready":
            line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
            assert line, "the process ended before it was ready"
            lines.append(line.decode().strip())
        assert lines[:-1] == [
            f"{name} listening on http://127.0.0.1:{base + k}"
            for k, name in enumerate(ALL_NAMES, start=1)
        ]
        async with httpx.AsyncClient(timeout=5) as client:
            for k, name in enumerate(SERVICE_NAMES, start=1):
                response = await client.get(f"http://127.0.0.1:{base + k}{CHECKS[name]}")
                assert response.status_code == 200, name
                assert response.headers["etag"]

        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=5)
        assert process.returncode == 0
    finally:
        if process.returncode is None:
            process.kill()
        await process.communicate()
