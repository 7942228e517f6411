from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from demo.launch import DemoProcess, free_port, stop


@pytest.fixture(scope="session")
def bff_url(_shared_stack: DemoProcess) -> Iterator[str]:
    """`bff serve` in a child process over the loopback demo stack; yields its base URL."""
    port = free_port()
    # One worker: each worker has caches of its own, and the tests count calls.
    env = {
        **os.environ,
        **_shared_stack.bff_env(),
        "BFF_PORT": str(port),
        "BFF_WORKERS": "1",
        "BFF_USAGE_SINK": "none",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bff", "serve"], env=env, stdout=subprocess.PIPE, text=True
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
