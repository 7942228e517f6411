"""The BFF under test as a child process, one worker pinned to a core, and what it costs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from demo.launch import free_port, stop


def pinned(cpu: int | None) -> list[str]:
    """A command prefix that pins a child to one core, where taskset exists."""
    if cpu is None or shutil.which("taskset") is None:
        return []
    return ["taskset", "-c", str(cpu)]


class BffProcess:
    """`bff serve` with the given settings: one worker pinned to `cpu`, or several unpinned."""

    def __init__(self, env: Mapping[str, str], *, cpu: int | None, workers: int = 1) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        settings = {**env, "BFF_PORT": str(self.port), "BFF_WORKERS": str(workers)}
        self.process = subprocess.Popen(
            [*pinned(cpu if workers == 1 else None), sys.executable, "-m", "bff", "serve"],
            env={**os.environ, "BFF_LOG_LEVEL": "warning", **settings},
            stdout=subprocess.DEVNULL,
            text=True,
        )
        self._wait_until_ready()

    def _wait_until_ready(self, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"bff serve exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("bff serve never became ready")

    def peak_rss_mb(self) -> float:
        """The largest peak resident set size so far of the server's processes: one worker's."""
        return max(_peak_rss_mb(pid) for pid in [self.process.pid, *_children(self.process.pid)])

    def cpu_seconds(self) -> float:
        """CPU time the server has used so far, its worker processes' included."""
        return sum(_cpu_seconds(pid) for pid in [self.process.pid, *_children(self.process.pid)])

    def stop(self) -> None:
        stop(self.process)


def machine() -> str:
    """The processor model and core count, for the report."""
    model = "unknown processor"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} cores"


_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User and system time of a live process (Linux's /proc/<pid>/stat); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # Counted after the command name: utime and stime are the 12th and 13th fields.
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _peak_rss_mb(pid: int) -> float:
    """A process's peak resident set size so far (Linux's VmHWM); 0 once it is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0.0
    for line in lines:
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found
