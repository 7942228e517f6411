"""deploy/compose.scale.yml: three replicas behind HAProxy with Redis, checked without Docker."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

import httpx
import yaml

from bff.config.settings import Settings
from clients.registry import SERVICES
from tests.harness import running_bff
from tests.paths import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
COMPOSE = DEPLOY / "compose.scale.yml"
HAPROXY = DEPLOY / "haproxy.cfg"


def services() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    return loaded


def settings() -> Settings:
    return Settings.from_environ(services()["bff"]["environment"])


def environment_with_mounts() -> dict[str, str]:
    """The BFF's environment, reading the files compose mounts from where they come from."""
    bff = services()["bff"]
    mounted = {
        target: str((DEPLOY / source).resolve())
        for source, target, *_ in (volume.split(":") for volume in bff.get("volumes", []))
    }
    return {name: mounted.get(value, value) for name, value in bff["environment"].items()}


def haproxy() -> dict[str, list[list[str]]]:
    """Each section of haproxy.cfg (`backend bff`, …) and its directives, as words."""
    sections: dict[str, list[list[str]]] = {}
    current: list[list[str]] = []
    for line in HAPROXY.read_text(encoding="utf-8").splitlines():
        words = line.split("#")[0].split()
        if not words:
            continue
        if not line[0].isspace():
            current = sections.setdefault(" ".join(words), [])
        else:
            current.append(words)
    return sections


def directive(section: str, *start: str) -> list[str]:
    """The words after `start` in the one directive of `section` that begins with it."""
    (found,) = (words for words in haproxy()[section] if tuple(words[: len(start)]) == start)
    return found[len(start) :]


def seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)(ms|s)", duration)
    assert match is not None, duration
    return int(match[1]) / (1000 if match[2] == "ms" else 1)


def refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def test_three_replicas_sit_behind_haproxy_on_the_published_port() -> None:
    bff = services()["bff"]
    balancer = services()["haproxy"]
    count, address = directive("backend bff", "server-template", "bff")[:2]
    host, port = address.split(":")
    mounts = {source: target for source, target, _ in (v.split(":") for v in balancer["volumes"])}

    assert bff["deploy"]["replicas"] == 3
    assert "ports" not in bff, "replicas cannot share a published port"
    assert int(count) >= bff["deploy"]["replicas"]
    assert host in services()
    assert int(port) == settings().port
    assert port in bff["expose"]
    assert directive("frontend graphql", "bind") == [f":{port}"]
    assert f"{port}:{port}" in balancer["ports"]
    assert mounts == {f"./{HAPROXY.name}": "/usr/local/etc/haproxy/haproxy.cfg"}


def test_the_replicas_share_one_redis_and_reach_the_demo_services() -> None:
    loaded = settings()
    exposed = {name: service.get("expose", []) for name, service in services().items()}

    assert services()["redis"]["image"] == "redis:7-alpine"
    redis = re.fullmatch(r"redis://([^:/]+):(\d+)/\d+", loaded.redis_url)
    assert redis is not None, loaded.redis_url
    assert redis[2] in exposed[redis[1]]
    assert services()["bff"]["depends_on"][redis[1]]["condition"] == "service_healthy"
    assert loaded.rate_limit.enabled
    for name in SERVICES:
        service = re.fullmatch(r"http://([^:/]+):(\d+)", loaded.services[name].base_url)
        assert service is not None, name
        assert service[2] in exposed[service[1]], name


def test_a_draining_replica_leaves_haproxy_before_it_stops_accepting() -> None:
    check = directive("backend bff", "default-server")
    interval = seconds(check[check.index("inter") + 1])
    failures = int(check[check.index("fall") + 1])
    resilience = settings().resilience

    assert interval * failures < resilience.shutdown_delay_s
    drain = resilience.shutdown_delay_s + resilience.drain_timeout_s
    assert seconds(services()["bff"]["stop_grace_period"]) > drain


def test_haproxy_waits_longer_than_any_operation_budget() -> None:
    budgets = settings().resilience
    longest = max([budgets.operation_budget_s, *budgets.operation_budgets.values()])

    assert seconds(directive("defaults", "timeout", "server")[0]) > longest
    for timeout in ("connect", "client", "http-request"):
        assert directive("defaults", "timeout", timeout)


async def test_haproxy_checks_a_path_that_fails_when_the_replica_cannot_serve() -> None:
    assert directive("backend bff", "http-check", "expect") == ["status", "200"]
    method, path = directive("backend bff", "http-check", "send", "meth")[::2][:2]
    down = {name: httpx.MockTransport(refuse) for name in SERVICES}
    env = environment_with_mounts()

    async with running_bff(env) as bff:
        ready = await bff.http.request(method, path)
    async with running_bff(env, transports=down) as bff:
        unready = await bff.http.request(method, path)

    assert ready.status_code == 200
    assert unready.status_code == 503


def test_request_ids_and_trace_context_pass_through() -> None:
    touched = [
        words for words in haproxy()["frontend graphql"] if words[0] in ("http-request", "option")
    ]
    text = " ".join(" ".join(words) for words in touched).lower()

    for header in ("traceparent", "tracestate", "baggage"):
        assert header not in text
    # A request id is made only when the caller sent none.
    (request_id,) = (words for words in touched if "x-request-id" in words)
    assert request_id[1:3] == ["set-header", "x-request-id"]
    assert request_id[4:] == ["unless", "{", "req.hdr(x-request-id)", "-m", "found", "}"]


def test_haproxy_accepts_the_configuration() -> None:
    binary = shutil.which("haproxy")
    assert binary is not None, "haproxy is not installed: scripts/system-tools installs it"

    result = subprocess.run(
        [binary, "-c", "-f", str(HAPROXY)], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
