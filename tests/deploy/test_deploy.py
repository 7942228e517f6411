"""The ops bundle in deploy/, checked for real since no Docker engine runs here."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bff.config.settings import Settings
from bff.contract.examples import REFERENCE_OPERATIONS
from tests.harness import running_bff
from tests.paths import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


@pytest.mark.parametrize("path", [COMPOSE, DEPLOY / "compose.scale.yml"], ids=lambda p: p.name)
def test_compose_file_follows_the_compose_specification(path: Path) -> None:
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_every_mounted_file_and_build_context_exists() -> None:
    services = compose()["services"]
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert (DEPLOY / source).exists(), f"{name}: {source}"
        if "build" in service:
            assert (DEPLOY / service["build"]["context"] / "Dockerfile").exists()
    assert set(services) == {"demo", "bff", "otel-collector", "jaeger", "prometheus", "grafana"}


def test_the_bff_settings_are_valid_and_point_at_compose_services() -> None:
    services = compose()["services"]
    environment = services["bff"]["environment"]
    settings = Settings.from_environ(environment)

    assert settings.host == "0.0.0.0"
    for config in settings.services.values():
        host = re.match(r"http://([^:/]+):(\d+)$", config.base_url)
        assert host is not None
        assert host.group(1) == "demo"
        assert host.group(2) in services["demo"]["expose"]
    assert settings.tracing.endpoint == "http://otel-collector:4318/v1/traces"
    assert settings.auth.jwks_url.startswith("http://demo:8107/")
    assert "8107" in services["demo"]["expose"]
    assert services["bff"]["ports"] == [f"{settings.port}:{settings.port}"]


def test_the_demo_command_is_one_the_cli_accepts() -> None:
    command = compose()["services"]["demo"]["command"]
    result = subprocess.run(
        [sys.executable, "-m", "demo", *command, "--help"],
        capture_output=True,
        text=True,
        check=True,
    )

    for flag in (arg for arg in command if arg.startswith("--")):
        assert flag in result.stdout


def test_collector_prometheus_and_grafana_are_wired_to_each_other() -> None:
    collector = yaml.safe_load((DEPLOY / "otel-collector.yaml").read_text(encoding="utf-8"))
    prometheus = yaml.safe_load((DEPLOY / "prometheus.yml").read_text(encoding="utf-8"))
    datasources = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/datasources/datasources.yml").read_text(encoding="utf-8")
    )
    providers = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/dashboards/dashboards.yml").read_text(encoding="utf-8")
    )

    assert collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    assert collector["exporters"]["otlp/jaeger"]["endpoint"] == "jaeger:4317"
    assert collector["service"]["pipelines"]["traces"]["exporters"] == ["otlp/jaeger"]
    (job,) = prometheus["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == ["bff:8000"]
    urls = {source["type"]: source["url"] for source in datasources["datasources"]}
    assert urls == {"prometheus": "http://prometheus:9090", "jaeger": "http://jaeger:16686"}
    mounted = [v for v in compose()["services"]["grafana"]["volumes"] if "dashboards:" in v]
    assert providers["providers"][0]["options"]["path"] in mounted[0]


async def test_every_dashboard_query_names_a_metric_the_bff_exports() -> None:
    dashboard = json.loads((DEPLOY / "grafana/dashboards/bff.json").read_text(encoding="utf-8"))
    async with running_bff({"BFF_RESPONSE_CACHE": "false"}) as bff:
        for example in REFERENCE_OPERATIONS:
            await bff.run(example)
        exported = (await bff.http.get("/metrics")).text
    names = {
        line.split("{")[0].split(" ")[0] for line in exported.splitlines() if line[:1].isalpha()
    }

    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert len(dashboard["panels"]) >= 6
    used = {name for expr in expressions for name in re.findall(r"\bbff_[a-z_]+", expr)}
    assert used
    assert used - names == set()
    titles = " ".join(panel["title"] for panel in dashboard["panels"]).lower()
    for topic in ("request rate", "error rate", "p99", "downstream latency", "cache hit ratio"):
        assert topic in titles
