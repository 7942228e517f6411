"""Encryption in transit, with certificates made by the test: HTTPS in, mutual TLS out."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from demo.launch import free_port, stop, wait_for_line
from tests.certificates import Authority, make_authority
from tests.e2e.conftest import wait_until_ready
from tests.harness import running_bff

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    return make_authority(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def catalog_over_mtls(authority: Authority) -> Iterator[str]:
    """The demo catalog serving HTTPS and asking callers for a certificate from the CA."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "demo",
            "catalog",
            "--port",
            str(port),
            "--tls-cert",
            str(authority.server.cert),
            "--tls-key",
            str(authority.server.key),
            "--tls-client-ca",
            str(authority.ca),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_line(process, "demo services ready", timeout_s=30)
        yield f"https://127.0.0.1:{port}"
    finally:
        stop(process)


async def ask_catalog(url: str, env: dict[str, str]) -> dict[str, object]:
    async with running_bff({"BFF_CATALOG_URL": url, **env}, network=["catalog"]) as bff:
        reply = await bff.query('{ category(id: "c3") { name } }')
    return reply.body


async def test_downstream_tls_is_verified_and_presents_a_client_certificate(
    authority: Authority, catalog_over_mtls: str
) -> None:
    trusted = {"BFF_DOWNSTREAM_CA_BUNDLE": str(authority.ca)}
    client = {
        "BFF_DOWNSTREAM_CLIENT_CERT": str(authority.client.cert),
        "BFF_DOWNSTREAM_CLIENT_KEY": str(authority.client.key),
    }

    mutual = await ask_catalog(catalog_over_mtls, {**trusted, **client})
    no_client_cert = await ask_catalog(catalog_over_mtls, trusted)
    unknown_ca = await ask_catalog(catalog_over_mtls, client)

    assert mutual == {"data": {"category": {"name": "Kitchen"}}}
    for refused in (no_client_cert, unknown_ca):
        assert refused["data"] == {"category": None}
        assert refused["errors"][0]["extensions"]["code"] == "DOWNSTREAM_UNAVAILABLE"  # type: ignore[index]


def test_the_bff_serves_https_when_given_a_certificate(
    authority: Authority, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "BFF_PORT": str(port),
        "BFF_WORKERS": "1",
        "BFF_TLS_CERT_FILE": str(authority.server.cert),
        "BFF_TLS_KEY_FILE": str(authority.server.key),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bff", "serve"], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        url = f"https://127.0.0.1:{port}"
        trust = ssl.create_default_context(cafile=str(authority.ca))
        wait_until_ready(url, process, health_path="/healthz", verify=trust)
        answer = httpx.get(f"{url}/healthz", verify=trust)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/healthz")  # not trusted without the test CA
    finally:
        stop(process)

    assert answer.json() == {"status": "ok"}
    assert answer.headers["strict-transport-security"] == "max-age=31536000"
