"""The demo services as a real process on loopback ports, for tests where sockets matter."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from demo.services import SERVICE_NAMES


def free_port_base(count: int) -> int:
    """A base port such that base+1 .. base+count are all free on 127.0.0.1."""
    for _ in range(50):
        base = free_port()
        if base + count < 65000 and all(_is_free(base + offset) for offset in range(1, count + 1)):
            return base
    raise RuntimeError("no run of free ports found")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class DemoStack:
    ports: dict[str, int]

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def bff_env(self) -> dict[str, str]:
        """BFF settings pointing every service at this stack."""
        return {f"BFF_{name.upper()}_URL": self.url(name) for name in self.ports}

    def set_faults(self, service: str, **faults: float) -> None:
        answer = httpx.put(f"{self.url(service)}/_demo/faults", json=faults)
        answer.raise_for_status()

    def calls(self) -> int:
        """Requests the services have served since the last reset."""
        total = 0
        for name in self.ports:
            answer = httpx.get(f"{self.url(name)}/_demo/stats")
            answer.raise_for_status()
            total += int(answer.json()["total"])
        return total

    def reset(self) -> None:
        """No faults and zeroed counters on every service."""
        for name in self.ports:
            self.set_faults(name, latency_ms=0, jitter_ms=0, error_rate=0, hang_rate=0)
            httpx.post(f"{self.url(name)}/_demo/reset").raise_for_status()


@contextmanager
def demo_stack(*extra_args: str) -> Iterator[DemoStack]:
    """`bff downstream all` in a child process; stopped on exit."""
    base = free_port_base(len(SERVICE_NAMES))
    process = subprocess.Popen(
        [sys.executable, "-m", "demo", "all", "--base-port", str(base), *extra_args],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_line(process, "demo services ready", timeout_s=30)
        yield DemoStack({name: base + index for index, name in enumerate(SERVICE_NAMES, 1)})
    finally:
        stop(process)


def wait_for_line(process: subprocess.Popen[str], expected: str, *, timeout_s: float) -> None:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout_s
    for line in process.stdout:
        if line.strip() == expected:
            return
        if time.monotonic() > deadline:
            break
    raise RuntimeError(f"child process never printed {expected!r} (exit {process.poll()})")


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()
