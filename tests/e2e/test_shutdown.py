"""SIGTERM under load: readiness goes 503 first, and nobody is cut off mid-response.

WebSockets are told to go away (1001) as soon as draining starts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import orjson
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from bff.examples import PRODUCT_PAGE
from demo.launch import DemoProcess, free_port
from tests.e2e.conftest import wait_until_ready

pytestmark = pytest.mark.e2e

DELAY_S = 1.5


def post_product_page(client: httpx.Client, number: int) -> tuple[str, bool]:
    """One request; its outcome, and whether the server asked to close the connection."""
    try:
        response = client.post(
            "/graphql",
            json={"query": PRODUCT_PAGE.query, "variables": {"id": f"p{number % 5000 + 1}"}},
            timeout=10,
        )
    except httpx.ConnectError:
        return "not connected", False
    except httpx.TransportError as error:
        return f"cut: {type(error).__name__}", False
    closing = response.headers.get("connection") == "close"
    body = response.json()
    if response.status_code == 200 and "errors" not in body and body["data"]["product"]["name"]:
        return "answered", closing
    return f"status {response.status_code}", closing


def _serve(stack: DemoProcess, port: int, **settings: str) -> subprocess.Popen[str]:
    """`bff serve` as its own process on `port`, over the demo services, its output piped."""
    env = {**os.environ, **stack.bff_env(), "BFF_PORT": str(port), "BFF_WORKERS": "1", **settings}
    return subprocess.Popen(
        [sys.executable, "-m", "bff", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_sigterm_drains_in_flight_requests_and_closes_connections(
    stack: DemoProcess, tmp_path: Path
) -> None:
    # Every ProductPage takes over a second, so requests are in flight at every moment.
    stack.set_faults("inventory", latency_ms=1200)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = _serve(
        stack,
        port,
        BFF_SHUTDOWN_DELAY_MS=str(int(DELAY_S * 1000)),
        BFF_RESPONSE_CACHE="false",
        # Flushed only every minute: the events reach the file because shutdown flushes them.
        BFF_USAGE_FILE=str(tmp_path / "usage.jsonl"),
        BFF_USAGE_FLUSH_MS="60000",
    )
    try:
        wait_until_ready(url, process)
        outcomes: Counter[str] = Counter()
        closing_answers = 0
        removed = threading.Event()  # what a load balancer does once /readyz fails
        lock = threading.Lock()

        def client_loop(worker: int) -> None:
            nonlocal closing_answers
            number = worker * 1000
            with httpx.Client(base_url=url) as client:
                while not removed.is_set():
                    number += 1
                    outcome, closing = post_product_page(client, number)
                    with lock:
                        outcomes[outcome] += 1
                        closing_answers += closing

        workers = [threading.Thread(target=client_loop, args=(n,)) for n in range(1, 13)]
        for worker in workers:
            worker.start()
        time.sleep(1.0)
        readiness: list[int] = []

        def balancer() -> None:
            while not removed.is_set():
                try:
                    readiness.append(httpx.get(f"{url}/readyz", timeout=2).status_code)
                except httpx.TransportError:
                    readiness.append(0)
                if readiness[-1] != 200:
                    removed.set()
                time.sleep(0.05)

        process.send_signal(signal.SIGTERM)
        sent_at = time.monotonic()
        watcher = threading.Thread(target=balancer)
        watcher.start()
        # A straggler the balancer had already routed: it starts late in the delay
        # and is still running when the server stops accepting connections.
        time.sleep(DELAY_S - 0.3)
        with httpx.Client(base_url=url) as client:
            straggler = post_product_page(client, 999_999)
        for thread in (*workers, watcher):
            thread.join(timeout=30)
        process.wait(timeout=30)
        exited_after = time.monotonic() - sent_at
        output = process.stdout.read() if process.stdout else ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    assert readiness[-1] == 503  # readiness failed first: the server still answered
    assert straggler == ("answered", True)
    assert set(outcomes) == {"answered"}, outcomes
    assert outcomes["answered"] >= 12
    assert closing_answers >= 1  # answers during the drain asked clients to reconnect
    assert exited_after >= DELAY_S
    assert process.returncode in (0, -signal.SIGTERM)
    assert "draining" in output
    events = [orjson.loads(line) for line in (tmp_path / "usage.jsonl").read_bytes().splitlines()]
    answered = [e for e in events if e["operation"] == "ProductPage" and e["outcome"] == "ok"]
    assert len(answered) == outcomes["answered"] + 1  # the straggler too


def test_sigterm_closes_websockets_with_going_away(stack: DemoProcess) -> None:
    port = free_port()
    # Long enough that the server's own shutdown (close code 1012) comes last.
    process = _serve(stack, port, BFF_SHUTDOWN_DELAY_MS="2000", BFF_USAGE_SINK="none")
    try:
        wait_until_ready(f"http://127.0.0.1:{port}", process)
        with connect(
            f"ws://127.0.0.1:{port}/graphql",
            subprotocols=[Subprotocol("graphql-transport-ws")],
            open_timeout=10,
        ) as socket:
            socket.send(json.dumps({"type": "connection_init"}))
            acknowledged = json.loads(socket.recv(timeout=10))
            process.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as closed:
                socket.recv(timeout=10)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    assert acknowledged == {"type": "connection_ack"}
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
        1001,
        "The server is shutting down",
    )
