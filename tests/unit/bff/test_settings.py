from __future__ import annotations

import os

import pytest

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


def test_every_variable_is_documented_in_the_readme() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    missing = [var.name for var in Settings.documented() if f"`{var.name}`" not in readme]

    assert missing == []
