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
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from bff.contract.examples import PRODUCT_PAGE
from demo.launch import DemoProcess, free_port
from tests.e2e.conftest import wait_until_ready

pytestmark = pytest.mark.e2e

LONG_DELAY_MS = "60000"
"""A drain delay longer than any test: a second SIGTERM ends it when the test says."""
PATIENCE_S = 30
"""How long a test waits for what must happen (never reached when all is well)."""
STRAGGLER = 999_999


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


def asked_inventory_for(stack: DemoProcess, product_id: str) -> bool:
    items = httpx.get(f"{stack.url('inventory')}/_demo/requests").json()["items"]
    return any(item["query"] == f"productIds={product_id}" for item in items)


def wait_for(condition: Callable[[], bool]) -> None:
    """Poll `condition` until it holds; fail after `PATIENCE_S` (never reached when all is well)."""
    deadline = time.monotonic() + PATIENCE_S
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.01)


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
        BFF_SHUTDOWN_DELAY_MS=LONG_DELAY_MS,
        BFF_RESPONSE_CACHE="false",
        # Reported only every ten minutes: operations reach the file because shutdown
        # flushes them.
        BFF_USAGE_FILE=str(tmp_path / "usage.jsonl"),
        BFF_USAGE_INTERVAL_MS="600000",
    )
    removed = threading.Event()  # what a load balancer does once /readyz fails
    threads: list[threading.Thread] = []
    try:
        wait_until_ready(url, process)
        outcomes: Counter[str] = Counter()
        closing_answers = 0
        answered_once = threading.Semaphore(0)
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
                    if number == worker * 1000 + 1:
                        answered_once.release()

        threads += [threading.Thread(target=client_loop, args=(n,)) for n in range(1, 13)]
        for thread in threads:
            thread.start()
        for _ in threads:  # from here on, every worker always has a request in flight
            assert answered_once.acquire(timeout=PATIENCE_S)

        process.send_signal(signal.SIGTERM)
        assert process.stdout is not None
        output: list[str] = []
        for line in process.stdout:  # the server's own word that draining has started
            output.append(line)
            if "draining" in line:
                break
        # The balancer's view: the server still answers, and says it is not ready.
        readiness = httpx.get(f"{url}/readyz", timeout=PATIENCE_S).status_code
        removed.set()
        # A straggler the balancer had already routed arrives during the delay, and is
        # still running when a second SIGTERM ends the delay and the listener closes.
        straggler: list[tuple[str, bool]] = []

        def send_straggler() -> None:
            with httpx.Client(base_url=url) as client:
                straggler.append(post_product_page(client, STRAGGLER))

        threads.append(threading.Thread(target=send_straggler))
        threads[-1].start()
        late = threads[-1]
        wait_for(
            lambda: asked_inventory_for(stack, f"p{STRAGGLER % 5000 + 1}") or not late.is_alive()
        )
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=PATIENCE_S)
        output += process.stdout.readlines()
    finally:
        removed.set()
        if process.poll() is None:
            process.kill()
            process.wait()
        for thread in threads:
            thread.join(timeout=PATIENCE_S)
        if process.stdout is not None:
            process.stdout.close()

    assert readiness == 503
    assert straggler == [("answered", True)]
    assert set(outcomes) == {"answered"}, outcomes
    assert outcomes["answered"] >= 12
    assert closing_answers >= 1  # answers during the drain asked clients to reconnect
    assert process.returncode in (0, -signal.SIGTERM)
    assert any("draining" in line for line in output)
    records = [orjson.loads(line) for line in (tmp_path / "usage.jsonl").read_bytes().splitlines()]
    (report,) = [record for record in records if record["type"] == "report"]
    pages = [
        entry
        for entry in report["operations"]
        if report["signatures"][entry["signature"]]["operation"] == "ProductPage"
    ]
    answered = sum(entry["outcomes"].get("ok", 0) for entry in pages)
    assert answered == outcomes["answered"] + 1  # the straggler too


def test_sigterm_closes_websockets_with_going_away(stack: DemoProcess) -> None:
    port = free_port()
    # The server's own shutdown (close code 1012) comes only with the second SIGTERM.
    process = _serve(stack, port, BFF_SHUTDOWN_DELAY_MS=LONG_DELAY_MS, BFF_USAGE_SINK="none")
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
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=PATIENCE_S)
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
