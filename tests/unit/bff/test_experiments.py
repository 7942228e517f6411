"""Assignment to experiments and flags: deterministic, weighted, and within its audience."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bff.product.experiments_file import ExperimentsError, load_rules, parse_rules
from resolvers.experiments import Assignments, Exposure, Profile, Rules, Subject

NOW = datetime(2026, 11, 28, tzinfo=UTC)
USERS = [f"u{number}" for number in range(10_000)]


def _assignments(
    rules: Rules,
    unit: str | None,
    *,
    client: tuple[str, str] = ("web", "1.0.0"),
    profile: Profile | None = None,
    exposures: list[Exposure] | None = None,
    now: datetime = NOW,
) -> Assignments:
    async def read_profile() -> Profile | None:
        return profile

    return Assignments(
        rules,
        Subject(unit, *client),
        profile=read_profile,
        exposed=(exposures if exposures is not None else []).append,
        now=now,
    )


def _rules(text: str, tmp_path: Path) -> Rules:
    path = tmp_path / "experiments.toml"
    path.write_text(text)
    return load_rules(path)


def _within(observed: int, expected_share: float, trials: int = len(USERS)) -> bool:
    """Inside 4 standard deviations of the binomial: fails by chance about once in 16,000."""
    mean = expected_share * trials
    deviation = math.sqrt(trials * expected_share * (1 - expected_share))
    return abs(observed - mean) <= 4 * deviation


async def test_assignment_is_deterministic_and_the_same_on_every_replica(tmp_path: Path) -> None:
    rules = _rules("[experiments.model]\nvariants = { a = 1, b = 1, c = 1 }\n", tmp_path)

    first = [await _assignments(rules, user).variant("model") for user in USERS[:500]]
    second = [await _assignments(rules, user).variant("model") for user in USERS[:500]]
    reloaded = _rules("[experiments.model]\nvariants = { a = 1, b = 1, c = 1 }\n", tmp_path)
    third = [await _assignments(reloaded, user).variant("model") for user in USERS[:500]]

    assert first == second == third
    assert set(first) == {"a", "b", "c"}


@pytest.mark.parametrize(
    "weights", [{"a": 50, "b": 50}, {"a": 70, "b": 20, "c": 10}, {"a": 1, "b": 3}]
)
async def test_variants_follow_their_weights_over_ten_thousand_users(
    tmp_path: Path, weights: dict[str, int]
) -> None:
    table = ", ".join(f"{name} = {weight}" for name, weight in weights.items())
    rules = _rules(f"[experiments.split]\nvariants = {{ {table} }}\n", tmp_path)

    counts = Counter([await _assignments(rules, user).variant("split") for user in USERS])

    total = sum(weights.values())
    assert set(counts) == set(weights)
    for variant, weight in weights.items():
        assert _within(counts[variant], weight / total), (variant, counts)


async def test_a_rollout_percentage_takes_its_share_and_keeps_it_when_raised(
    tmp_path: Path,
) -> None:
    def rollout(percentage: int) -> Rules:
        return _rules(
            f"[experiments.new-search]\nvariants = {{ on = 1 }}\n"
            f"audience = {{ percentage = {percentage} }}\n",
            tmp_path,
        )

    at_30 = {user for user in USERS if await _assignments(rollout(30), user).variant("new-search")}
    at_60 = {user for user in USERS if await _assignments(rollout(60), user).variant("new-search")}

    assert _within(len(at_30), 0.3)
    assert _within(len(at_60), 0.6)
    assert at_30 <= at_60


async def test_audiences_narrow_by_tier_country_and_client_version(tmp_path: Path) -> None:
    rules = _rules(
        "[experiments.gold-uk]\nvariants = { x = 1 }\n"
        'audience = { tiers = ["gold"], countries = ["GB"], clients = ["ios>=3.2", "web"] }\n',
        tmp_path,
    )
    gold_uk = Profile("gold", "GB")

    async def variant(client: tuple[str, str], profile: Profile | None) -> str | None:
        return await _assignments(rules, "u1", client=client, profile=profile).variant("gold-uk")

    assert await variant(("ios", "3.2.0"), gold_uk) == "x"
    assert await variant(("ios", "3.10"), gold_uk) == "x"
    assert await variant(("web", "anything"), gold_uk) == "x"
    assert await variant(("ios", "3.1.9"), gold_uk) is None
    assert await variant(("ios", "beta"), gold_uk) is None
    assert await variant(("android", "9.0"), gold_uk) is None
    assert await variant(("ios", "3.2"), Profile("silver", "GB")) is None
    assert await variant(("ios", "3.2"), Profile("gold", "DE")) is None
    assert await variant(("ios", "3.2"), None) is None


async def test_the_profile_is_read_only_when_an_audience_needs_it(tmp_path: Path) -> None:
    rules = _rules("[experiments.open]\nvariants = { x = 1 }\n", tmp_path)
    reads = 0

    async def profile() -> Profile | None:
        nonlocal reads
        reads += 1
        return None

    assignments = Assignments(
        rules, Subject("u1", "web", "1"), profile=profile, exposed=lambda e: None, now=NOW
    )

    assert await assignments.variant("open") == "x"
    assert reads == 0


async def test_nobody_outside_a_running_window_or_without_a_unit_is_assigned(
    tmp_path: Path,
) -> None:
    rules = _rules(
        "[experiments.winter]\nvariants = { x = 1 }\n"
        "start = 2026-12-01T00:00:00Z\nstop = 2027-03-01T00:00:00Z\n",
        tmp_path,
    )

    assert await _assignments(rules, "u1").variant("winter") is None
    assert (
        await _assignments(rules, "u1", now=datetime(2027, 1, 1, tzinfo=UTC)).variant("winter")
        == "x"
    )
    assert (
        await _assignments(rules, "u1", now=datetime(2027, 3, 1, tzinfo=UTC)).variant("winter")
        is None
    )
    assert (
        await _assignments(rules, None, now=datetime(2027, 1, 1, tzinfo=UTC)).variant("winter")
        is None
    )
    assert await _assignments(rules, "u1").variant("no-such-experiment") is None


async def test_a_variant_served_is_an_exposure_once_per_request(tmp_path: Path) -> None:
    rules = _rules("[experiments.model]\nvariants = { a = 1 }\n", tmp_path)
    exposures: list[Exposure] = []
    assignments = _assignments(rules, "u7", exposures=exposures)

    await assignments.variant("model")
    await assignments.variant("model")
    listed = await assignments.experiments()

    assert listed == [("model", "a")]
    assert exposures == [Exposure("model", "a", "u7")]
    assert assignments.served == {"model": "a"}


async def test_flags_follow_the_same_audience_rules(tmp_path: Path) -> None:
    rules = _rules(
        "[flags.images]\naudience = { percentage = 25 }\n"
        "[flags.layout]\nvariants = { classic = 3, compact = 1 }\n"
        "[flags.killed]\nenabled = false\n",
        tmp_path,
    )

    images = [(await _assignments(rules, user).flag("images")).enabled for user in USERS]
    layouts = Counter([(await _assignments(rules, user).flag("layout")).variant for user in USERS])
    anonymous = await _assignments(rules, None).flags()

    assert _within(sum(images), 0.25)
    assert _within(layouts["compact"], 0.25)
    assert not (await _assignments(rules, "u1").flag("killed")).enabled
    assert not (await _assignments(rules, "u1").flag("unknown")).enabled
    # Anonymous callers without a client id: outside partial rollouts, on the first variant.
    assert [(flag.name, flag.enabled, flag.variant) for flag in anonymous] == [
        ("images", False, None),
        ("killed", False, None),
        ("layout", True, "classic"),
    ]


@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        ({"experiment": {}}, "unknown key experiment"),
        ({"experiments": {"x": {}}}, "`variants` is required"),
        ({"experiments": {"x": {"variants": {"a": -1}}}}, "a whole number, 0 or more"),
        ({"experiments": {"x": {"variants": {"a": 0}}}}, "at least one weight"),
        (
            {"experiments": {"x": {"variants": {"a": 1}, "audience": {"percentage": 101}}}},
            "0 to 100",
        ),
        (
            {"experiments": {"x": {"variants": {"a": 1}, "audience": {"tier": ["gold"]}}}},
            "unknown key tier",
        ),
        (
            {"experiments": {"x": {"variants": {"a": 1}, "audience": {"clients": ["ios>=x"]}}}},
            "not `name`",
        ),
        ({"flags": {"x": {"enabled": "yes"}}}, "true or false"),
        ({"flags": {"bad name": {}}}, "not a valid name"),
    ],
)
def test_invalid_files_are_refused_with_the_place(
    document: dict[str, object], complaint: str
) -> None:
    with pytest.raises(ExperimentsError, match="experiments") as refused:
        parse_rules(document)

    assert complaint in str(refused.value)
