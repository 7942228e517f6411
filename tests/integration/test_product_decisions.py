"""Experiments and flags through the API: what resolvers and frontends see."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import parse_qs

import orjson
import pytest

from tests.harness import Harness, running_bff, signed_in

RECOMMENDATIONS = "{ recommendations(first: 3) { id } }"
RELATED = '{ product(id: "p1") { id related(first: 3) { id } } }'


def _write(path: Path, text: str) -> None:
    path.write_text(text)


def _models(bff: Harness) -> list[str]:
    """The `model` of each call the recommendations service received, oldest first."""
    calls = bff.demo["recommendations"].stats.recent()
    return [parse_qs(call.query).get("model", ["?"])[0] for call in calls]


@pytest.fixture
def experiments(tmp_path: Path) -> Path:
    path = tmp_path / "experiments.toml"
    _write(
        path,
        "[experiments.recommendation-model]\nvariants = { similar = 1 }\n"
        'audience = { tiers = ["gold"] }\n'
        "[flags.related-products]\naudience = { percentage = 50 }\n",
    )
    return path


def _env(experiments: Path, **more: str) -> dict[str, str]:
    return {
        "BFF_EXPERIMENTS_FILE": str(experiments),
        "BFF_EXPERIMENTS_RELOAD_MS": "20",
        "BFF_RESPONSE_CACHE": "false",
        **more,
    }


async def _tier(bff: Harness, user_id: str) -> str:
    reply = await bff.query("{ me { tier } }", headers=signed_in(user_id))
    tier = reply.data["me"]["tier"]
    assert isinstance(tier, str)
    return tier.lower()


async def test_the_recommendation_model_follows_the_experiment_and_nothing_else_changes(
    experiments: Path,
) -> None:
    async with running_bff(_env(experiments)) as bff:
        tiers = {user: await _tier(bff, user) for user in ("u1", "u2", "u3", "u4", "u5", "u6")}
        gold = [user for user, tier in tiers.items() if tier == "gold"]
        others = [user for user, tier in tiers.items() if tier != "gold"]
        assert gold, tiers
        assert others, tiers
        bff.reset_calls()
        for user in gold + others:
            listed = await bff.query(RECOMMENDATIONS, headers=signed_in(user))
            assert listed.data["recommendations"]
        anonymous = await bff.query(RECOMMENDATIONS)
        assert anonymous.data["recommendations"]

    assert _models(bff) == ["similar"] * len(gold) + ["popular"] * (len(others) + 1)


async def test_frontends_can_list_their_experiments_and_flags(experiments: Path) -> None:
    async with running_bff(_env(experiments)) as bff:
        tiers = {user: await _tier(bff, user) for user in ("u1", "u2", "u3", "u4", "u5", "u6")}
        gold = next(user for user, tier in tiers.items() if tier == "gold")
        listed = await bff.query(
            "{ experiments { name variant } featureFlags { name enabled variant } }",
            headers=signed_in(gold),
        )
        anonymous = await bff.query("{ experiments { name } featureFlags { name enabled } }")

    assert listed.data["experiments"] == [{"name": "recommendation-model", "variant": "similar"}]
    assert [flag["name"] for flag in listed.data["featureFlags"]] == ["related-products"]
    assert listed.headers["cache-control"] == "no-store"
    assert anonymous.data == {
        "experiments": [],
        "featureFlags": [{"name": "related-products", "enabled": False}],
    }


async def test_a_flag_gated_field_is_feature_disabled_for_users_outside_the_rollout(
    experiments: Path,
) -> None:
    async with running_bff(_env(experiments)) as bff:
        replies = {
            user: await bff.query(RELATED, headers=signed_in(user))
            for user in (f"u{number}" for number in range(1, 21))
        }
        flags = {
            user: (await bff.query("{ featureFlags { enabled } }", headers=signed_in(user))).data
            for user in replies
        }

    inside = [user for user, flag in flags.items() if flag["featureFlags"][0]["enabled"]]
    outside = [user for user in replies if user not in inside]
    assert inside
    assert outside
    for user in inside:
        related = replies[user].data["product"]["related"]
        assert len(related) == 3
        assert all(product["id"] != "p1" for product in related)
    for user in outside:
        reply = replies[user]
        assert reply.data["product"] == {"id": "p1", "related": None}
        error = reply.error_at("product", "related")
        assert error["extensions"]["code"] == "FEATURE_DISABLED"
        assert "related-products" in error["message"]


async def test_a_changed_experiments_file_applies_without_restart(experiments: Path) -> None:
    async with running_bff(_env(experiments)) as bff:
        before = await bff.query("{ featureFlags { name } }")
        _write(experiments, "[flags.new-flag]\n")
        for _ in range(500):
            after = await bff.query("{ featureFlags { name enabled } }")
            if after.data["featureFlags"][0]["name"] != "related-products":
                break
            await asyncio.sleep(0.02)

    assert before.data["featureFlags"] == [{"name": "related-products"}]
    assert after.data["featureFlags"] == [{"name": "new-flag", "enabled": True}]


async def test_anonymous_callers_are_assigned_by_their_client_id(
    experiments: Path, tmp_path: Path
) -> None:
    _write(
        experiments, "[experiments.recommendation-model]\nvariants = { popular = 1, similar = 1 }\n"
    )
    usage = tmp_path / "usage.jsonl"
    env = _env(experiments, BFF_USAGE_SINK="jsonl", BFF_USAGE_FILE=str(usage))
    async with running_bff(env) as bff:
        for install in range(40):
            for _ in range(2):
                await bff.query(RECOMMENDATIONS, headers={"x-client-id": f"install-{install}"})

    models = _models(bff)
    # Each install kept its variant on its second request; both variants were served.
    assert [models[index] for index in range(0, 80, 2)] == [models[i] for i in range(1, 80, 2)]
    assert set(models) == {"popular", "similar"}
    exposures = [
        event
        for event in map(orjson.loads, usage.read_bytes().splitlines())
        if event["type"] == "exposure"
    ]
    # One exposure per install and window, not one per request.
    assert len(exposures) == 40
    assert len({event["subject"] for event in exposures}) == 40
    assert all("install-" not in event["subject"] for event in exposures)
