"""The Kubernetes manifests in deploy/k8s, checked for real since no cluster runs here."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from bff.config.settings import Settings, SettingsError
from bff.product.experiments_file import parse_rules
from clients.registry import SERVICES
from tests.harness import running_bff
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT
K8S = ROOT / "deploy" / "k8s"
SECRET_EXAMPLE = K8S / "secret.example.yaml"
# The oldest Kubernetes the manifests are meant for, and the newest whose
# schemas kubernetes-validate bundles.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
# Variables the manifests set for features still to come; each is checked like
# any other as soon as the settings know it.
Resource = dict[str, Any]


def kustomization() -> Resource:
    loaded: Resource = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    return loaded


def manifests() -> list[Resource]:
    return [
        yaml.safe_load((K8S / name).read_text(encoding="utf-8"))
        for name in kustomization()["resources"]
    ]


def resource(kind: str, name: str = "bff") -> Resource:
    (found,) = (r for r in manifests() if r["kind"] == kind and r["metadata"]["name"] == name)
    return found


def pod() -> Resource:
    spec: Resource = resource("Deployment")["spec"]["template"]["spec"]
    return spec


def container() -> Resource:
    only: Resource
    (only,) = pod()["containers"]
    return only


def environment() -> dict[str, str]:
    """What the container's environment holds, from the ConfigMap, the Secret and `env`."""
    env: dict[str, str] = {}
    for source in container()["envFrom"]:
        if "configMapRef" in source:
            env.update(resource("ConfigMap", source["configMapRef"]["name"])["data"])
        else:
            secret = yaml.safe_load(SECRET_EXAMPLE.read_text(encoding="utf-8"))
            assert source["secretRef"]["name"] == secret["metadata"]["name"]
            env.update(secret["stringData"])
    env.update({var["name"]: var["value"] for var in container()["env"] if "value" in var})
    return env


def settings() -> Settings:
    return Settings.from_environ(environment())


def mebibytes(quantity: str) -> int:
    match = re.fullmatch(r"(\d+)(Mi|Gi)", quantity)
    assert match is not None, quantity
    return int(match[1]) * (1024 if match[2] == "Gi" else 1)


def cores(quantity: str) -> float:
    return int(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def probe_path(probe: str) -> str:
    path: str = container()[probe]["httpGet"]["path"]
    return path


def refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def test_the_kustomization_applies_every_manifest_but_the_secret_example() -> None:
    on_disk = {path.name for path in K8S.glob("*.yaml")}

    assert set(kustomization()["resources"]) == on_disk - {
        "kustomization.yaml",
        SECRET_EXAMPLE.name,
    }
    (image,) = kustomization()["images"]
    assert image["name"] == container()["image"]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_follows_the_kubernetes_schemas(version: str) -> None:
    validator = Path(sys.executable).parent / "kubernetes-validate"
    files = [K8S / name for name in kustomization()["resources"]] + [SECRET_EXAMPLE]
    result = subprocess.run(
        [str(validator), "--strict", "--kubernetes-version", version, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert (result.stdout + result.stderr).count(" passed for resource ") == len(files)


def test_the_environment_is_valid_production_settings() -> None:
    loaded = settings()

    assert loaded.profile == "production"
    assert loaded.host == "0.0.0.0"
    assert loaded.redis_url.startswith(("redis://", "rediss://"))
    defaults = Settings.from_environ({})
    for name in SERVICES:
        # The defaults point at the demo services on 127.0.0.1.
        assert loaded.services[name].base_url != defaults.services[name].base_url, name


def test_service_links_are_off_since_the_settings_would_refuse_them() -> None:
    # What Kubernetes injects into every pod for a Service named `bff`.
    port = resource("Service")["spec"]["ports"][0]["port"]
    injected = {
        "BFF_SERVICE_HOST": "10.96.0.10",
        "BFF_SERVICE_PORT": str(port),
        "BFF_PORT": f"tcp://10.96.0.10:{port}",
        f"BFF_PORT_{port}_TCP": f"tcp://10.96.0.10:{port}",
    }

    Settings.from_environ(environment())
    with pytest.raises(SettingsError, match="BFF_PORT"):
        Settings.from_environ({**environment(), **injected})
    assert pod()["enableServiceLinks"] is False


def test_every_port_named_is_the_one_the_bff_listens_on() -> None:
    (port,) = container()["ports"]
    probes = [container()[probe] for probe in ("startupProbe", "livenessProbe", "readinessProbe")]
    annotations = resource("Deployment")["spec"]["template"]["metadata"]["annotations"]
    (service_port,) = resource("Service")["spec"]["ports"]

    exposed = re.findall(
        r"^EXPOSE (\d+)$", (ROOT / "Dockerfile").read_text(encoding="utf-8"), flags=re.MULTILINE
    )

    assert port["containerPort"] == settings().port == Settings.from_environ({}).port
    assert exposed == [str(port["containerPort"])]
    for probe in probes:
        assert probe["httpGet"]["port"] in (port["name"], port["containerPort"])
    assert service_port["targetPort"] in (port["name"], port["containerPort"])
    assert int(annotations["prometheus.io/port"]) == port["containerPort"]


async def test_every_probe_path_is_served_and_means_what_the_probe_needs(tmp_path: Path) -> None:
    annotations = resource("Deployment")["spec"]["template"]["metadata"]["annotations"]
    experiments = resource("ConfigMap", "bff-experiments")["data"]["experiments.toml"]
    (tmp_path / "experiments.toml").write_text(experiments)
    env = {**environment(), "BFF_EXPERIMENTS_FILE": str(tmp_path / "experiments.toml")}
    down = {name: httpx.MockTransport(refuse) for name in SERVICES}

    async with running_bff(env) as bff:
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert (await bff.http.get(probe_path(probe))).status_code == 200, probe
        metrics = await bff.http.get(annotations["prometheus.io/path"])
    # With every downstream service down, the pod stays alive and keeps taking
    # traffic: it answers with what it has, and readiness only reports the outage.
    async with running_bff(env, transports=down) as bff:
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert (await bff.http.get(probe_path(probe))).status_code == 200, probe
        readiness = (await bff.http.get(probe_path("readinessProbe"))).json()
        assert set(readiness["down"]) == set(SERVICES)

    assert annotations["prometheus.io/scrape"] == "true"
    assert metrics.status_code == 200
    assert "bff_graphql_requests_total" in metrics.text


def test_the_grace_period_outlasts_the_drain() -> None:
    resilience = settings().resilience

    assert resilience.shutdown_delay_s > 0
    drain = resilience.shutdown_delay_s + resilience.drain_timeout_s
    assert pod()["terminationGracePeriodSeconds"] > drain
    assert "lifecycle" not in container()


def test_the_service_the_autoscaler_and_the_budget_all_point_at_the_deployment() -> None:
    deployment = resource("Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    service = resource("Service")
    autoscaler = resource("HorizontalPodAutoscaler")
    budget = resource("PodDisruptionBudget")

    assert selector.items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()
    assert budget["spec"]["selector"]["matchLabels"] == selector
    assert autoscaler["apiVersion"] == "autoscaling/v2"
    target = autoscaler["spec"]["scaleTargetRef"]
    assert (target["apiVersion"], target["kind"], target["name"]) == (
        deployment["apiVersion"],
        "Deployment",
        deployment["metadata"]["name"],
    )
    assert "replicas" not in deployment["spec"], "the autoscaler owns the replica count"
    assert autoscaler["spec"]["minReplicas"] >= 3
    (metric,) = autoscaler["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"]["type"] == "Utilization"
    assert budget["spec"]["maxUnavailable"] < autoscaler["spec"]["minReplicas"]
    spread = pod()["topologySpreadConstraints"]
    assert "kubernetes.io/hostname" in {constraint["topologyKey"] for constraint in spread}
    for constraint in spread:
        assert constraint["labelSelector"]["matchLabels"] == selector


def test_one_core_is_requested_for_each_worker() -> None:
    resources = container()["resources"]

    assert cores(resources["requests"]["cpu"]) == settings().workers
    # The autoscaler's utilisation target is a share of the request.
    assert "cpu" not in resources.get("limits", {})
    assert (
        0 < mebibytes(resources["requests"]["memory"]) <= mebibytes(resources["limits"]["memory"])
    )


def test_the_experiments_file_is_the_mounted_configmap() -> None:
    (mount,) = container()["volumeMounts"]
    (volume,) = (v for v in pod()["volumes"] if v["name"] == mount["name"])
    experiments = resource("ConfigMap", volume["configMap"]["name"])
    path = Path(environment()["BFF_EXPERIMENTS_FILE"])

    # A subPath mount would never see the ConfigMap change.
    assert "subPath" not in mount
    assert path.parent == Path(mount["mountPath"])
    rules = parse_rules(tomllib.loads(experiments["data"][path.name]))
    assert rules.experiments or rules.flags


def test_the_pod_runs_as_the_image_user_on_a_read_only_filesystem() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    user = re.findall(r"^USER (\d+)$", dockerfile, flags=re.MULTILINE)[-1]
    security = container()["securityContext"]

    assert pod()["securityContext"]["runAsUser"] == int(user)
    assert pod()["securityContext"]["runAsNonRoot"] is True
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
