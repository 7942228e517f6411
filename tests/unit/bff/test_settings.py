from __future__ import annotations

import os
from dataclasses import replace

import pytest

from bff.cli.main import main
from bff.config.reference import REGENERATE, markdown
from bff.config.settings import Settings, SettingsError
from tests.paths import REPO_ROOT


def test_defaults_point_at_the_demo_services() -> None:
    settings = Settings.from_environ({})

    assert settings.profile == "demo"
    assert settings.port == 8000
    assert settings.services["catalog"].base_url == "http://127.0.0.1:8102"
    assert settings.services["recommendations"].base_url == "http://127.0.0.1:8106"
    assert settings.services["catalog"].timeout_s == 2.0
    assert settings.graphiql is True
    assert settings.workers == (os.cpu_count() or 1)


def test_values_are_parsed_and_per_service_overrides_win() -> None:
    settings = Settings.from_environ(
        {
            "BFF_PORT": "9000",
            "BFF_BATCHING": "false",
            "BFF_DOWNSTREAM_TIMEOUT_MS": "750",
            "BFF_INVENTORY_TIMEOUT_MS": "200",
            "BFF_CATALOG_URL": "http://catalog.internal",
        }
    )

    assert settings.port == 9000
    assert settings.batching is False
    assert settings.services["accounts"].timeout_s == 0.75
    assert settings.services["inventory"].timeout_s == 0.2
    assert settings.services["catalog"].base_url == "http://catalog.internal"


def test_production_profile_turns_developer_conveniences_off() -> None:
    settings = Settings.from_environ({"BFF_PROFILE": "production"})

    assert settings.rate_limit.enabled is True
    assert settings.http.introspection is False
    assert settings.http.csrf_prevention is True
    assert settings.auth.jwks_url == ""
    assert settings.graphiql is False


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"BFF_PORT": "eighty"}, "BFF_PORT: must be an integer, got 'eighty'"),
        ({"BFF_PORT": "70000"}, "BFF_PORT: must be between 1 and 65535, got 70000"),
        ({"BFF_BATCHING": "maybe"}, "BFF_BATCHING: must be true or false"),
        ({"BFF_PROFILE": "staging"}, "BFF_PROFILE: must be one of demo, production"),
        ({"BFF_CATALOG_TIMEOUT_MS": "0"}, "BFF_CATALOG_TIMEOUT_MS: must be at least 1"),
        ({"BFF_CATLOG_URL": "http://x"}, "unknown setting BFF_CATLOG_URL"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_environ(environ)


def test_variables_without_the_prefix_are_ignored() -> None:
    assert Settings.from_environ({"PATH": "/bin", "HOME": "/root"}).port == 8000


def test_docs_configuration_is_generated_from_the_declarations() -> None:
    current = (REPO_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")

    assert current == markdown(), f"docs/configuration.md is stale: run `{REGENERATE}`"


def test_every_variable_is_documented() -> None:
    reference = (REPO_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = [var.name for var in Settings.documented() if f"`{var.name}`" not in reference]

    assert missing == []
    assert len({var.name for var in Settings.documented()}) == len(Settings.documented())


def test_the_table_shows_both_profiles_defaults() -> None:
    rows = {var.name: var for var in Settings.documented()}

    assert (rows["BFF_RATE_LIMIT"].default, rows["BFF_RATE_LIMIT"].production) == ("false", "true")
    assert (rows["BFF_SHUTDOWN_DELAY_MS"].default, rows["BFF_SHUTDOWN_DELAY_MS"].production) == (
        "0",
        "5000",
    )
    assert rows["BFF_MAX_TOKENS"].kind == "integer ≥ 1"
    assert rows["BFF_CATALOG_TIMEOUT_MS"].default == "BFF_DOWNSTREAM_TIMEOUT_MS"


def test_the_dataclass_defaults_are_the_demo_profile() -> None:
    """A group built bare holds what an empty environment reads: one declaration for both."""
    read = Settings.from_environ({})

    for group in (
        "downstream_resilience",
        "downstream_cache_redis",
        "resilience",
        "limits",
        "rate_limit",
        "auth",
        "http",
        "compression",
        "persisted",
        "subscriptions",
        "tracing",
        "product",
    ):
        assert getattr(read, group) == type(getattr(read, group))(), group
    assert replace(read, services={}, service_settings={}) == replace(
        Settings(), service_settings={}
    )


def test_units_are_converted_once() -> None:
    settings = Settings.from_environ(
        {
            "BFF_OPERATION_BUDGET_MS": "1500",
            "BFF_DOWNSTREAM_CACHE_MAX_MB": "2",
            "BFF_BREAKER_FAILURE_PERCENT": "25",
            "BFF_COMPRESSION": "false",
            "BFF_DOWNSTREAM_MAX_CONNECTIONS": "7",
            "BFF_ORDERS_MAX_CONNECTIONS": "3",
        }
    )

    assert settings.resilience.operation_budget_s == 1.5
    assert settings.downstream_cache_max_bytes == 2 * 1024 * 1024
    assert settings.services["orders"].resilience.breaker.failure_ratio == 0.25
    assert settings.compression_min_bytes is None
    assert settings.services["catalog"].max_connections == 7
    assert settings.services["orders"].max_connections == 3


def test_otlp_endpoint_gets_the_traces_path_and_turns_the_exporter_on() -> None:
    tracing = Settings.from_environ(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"}
    ).tracing

    assert tracing.endpoint == "http://collector:4318/v1/traces"
    assert tracing.exporter == "otlp"
    assert Settings.from_environ({}).tracing.exporter == "none"


def test_bff_settings_prints_the_reference(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["settings", "--markdown"]) == 0
    assert capsys.readouterr().out == markdown()

    assert main(["settings"]) == 0
    assert "BFF_RATE_LIMIT=false (production: true)" in capsys.readouterr().out
