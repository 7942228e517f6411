from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from demo.launch import DemoProcess, free_port, stop


@pytest.fixture(scope="session")
def bff_url(_shared_stack: DemoProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`bff serve` over the loopback demo stack, shared by the session; yields its base URL.

    Its caches and metrics hold whatever earlier tests left: a test that counts
    downstream calls or reads metrics takes `own_bff_url` instead.
    """
    log = tmp_path_factory.mktemp("bff") / "bff.log"
    with serving_bff(_shared_stack, log, BFF_WORKERS="1") as url:
        yield url


@pytest.fixture
def own_bff_url(_shared_stack: DemoProcess, tmp_path: Path) -> Iterator[str]:
    """`bff serve` for this test alone: its caches and metrics start empty."""
    # One worker: each worker has caches of its own, and the tests count calls.
    with serving_bff(_shared_stack, tmp_path / "bff.log", BFF_WORKERS="1") as url:
        yield url


@contextmanager
def serving_bff(stack: DemoProcess, log: Path, **settings: str) -> Iterator[str]:
    """`bff serve` over `stack` with `settings`, its output in `log`; yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        **stack.bff_env(),
        "BFF_PORT": str(port),
        "BFF_USAGE_SINK": "none",
        **settings,
    }
    with log.open("w", encoding="utf-8") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bff", "serve"],
            env=env,
            stdout=output,
            stderr=output,
            text=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url, process)
        yield url
    finally:
        stop(process)


def wait_until_ready(
    url: str,
    process: subprocess.Popen[str],
    timeout_s: float = 30,
    *,
    health_path: str = "/readyz",
    verify: ssl.SSLContext | bool = True,
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"bff serve exited with {process.returncode}")
        try:
            if httpx.get(f"{url}{health_path}", timeout=1, verify=verify).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("bff serve never became ready")
