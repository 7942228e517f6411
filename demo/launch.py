"""Starting the demo services as a child process, for tests and the benchmark.

`launch()` runs `python -m demo all` on a free run of loopback ports and
returns once every service listens; the returned `DemoProcess` reaches each
service's admin endpoints (faults, counters) over HTTP.
"""

import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from demo.services import ALL_NAMES, IDENTITY, SERVICE_NAMES
from demo.stack import development_token

READY_LINE = "demo services ready"


def free_port() -> int:
    """A port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def free_port_base(count: int) -> int:
    """A base port such that base+1 .. base+count are all free on 127.0.0.1."""
    for _ in range(50):
        base = free_port()
        if base + count < 65000 and all(_is_free(base + n) for n in range(1, count + 1)):
            return base
    raise RuntimeError("no run of free ports found")


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class DemoProcess:
    process: subprocess.Popen[str]
    ports: dict[str, int]

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def bff_env(self) -> dict[str, str]:
        """BFF settings pointing every service, and the JWKS, at this process; GraphiQL's token."""
        env = {f"BFF_{name.upper()}_URL": self.url(name) for name in SERVICE_NAMES}
        env["BFF_AUTH_JWKS_URL"] = f"{self.url(IDENTITY)}/.well-known/jwks.json"
        env["BFF_GRAPHIQL_TOKEN"] = development_token()
        return env

    def set_faults(self, service: str, **faults: float) -> None:
        httpx.put(f"{self.url(service)}/_demo/faults", json=faults).raise_for_status()

    def calls(self) -> int:
        """Requests the services have served since the last reset."""
        total = 0
        for name in SERVICE_NAMES:
            answer = httpx.get(f"{self.url(name)}/_demo/stats")
            answer.raise_for_status()
            total += int(answer.json()["total"])
        return total

    def reset(self, *, faults: bool = True) -> None:
        """Zero the counters (and, unless told otherwise, clear the faults) everywhere."""
        for name in SERVICE_NAMES:
            if faults:
                self.set_faults(
                    name,
                    latency_ms=0,
                    jitter_ms=0,
                    error_rate=0,
                    hang_rate=0,
                    hang_seconds=300,
                    retry_after_s=0,
                )
            httpx.post(f"{self.url(name)}/_demo/reset").raise_for_status()

    def stop(self) -> None:
        stop(self.process)


def launch(args: Sequence[str] = (), *, prefix: Sequence[str] = ()) -> DemoProcess:
    """All six services in one child process; `prefix` wraps the command (e.g. taskset)."""
    base = free_port_base(len(ALL_NAMES))
    process = subprocess.Popen(
        [*prefix, sys.executable, "-m", "demo", "all", "--base-port", str(base), *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_line(process, READY_LINE, timeout_s=30)
    except BaseException:
        stop(process)
        raise
    ports = {name: base + index for index, name in enumerate(ALL_NAMES, 1)}
    return DemoProcess(process, ports)


def wait_for_line(process: subprocess.Popen[str], expected: str, *, timeout_s: float) -> None:
    """Read the child's output until `expected`; fail if it exits or stays silent."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout_s
    for line in process.stdout:
        if line.strip() == expected:
            return
        if time.monotonic() > deadline:
            break
    raise RuntimeError(f"child process never printed {expected!r} (exit {process.poll()})")


def stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM, then SIGKILL after 10 s; close its output pipe."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()
