"""Usage as read back from a sink, whatever kinds of record it holds.

`read_usage` turns reports and raw events into one shape, so every reader
counts one way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bff.product.analytics.aggregates import LATENCY_LABELS, latency_bucket
from bff.product.analytics.events import JsonObject, client_of, event_time

FAILED_OUTCOMES = frozenset({"error", "partial"})
DEFAULT_WINDOW_S = 86_400.0
"""The exposure window of events written before they said theirs."""
_BUCKETS = {label: index for index, label in enumerate(LATENCY_LABELS)}


@dataclass(frozen=True, slots=True)
class Use:
    operation: str | None
    client: tuple[str, str]
    """Name and version."""
    count: int
    failed: int
    fields: Sequence[str]
    deprecated: Sequence[str] | None
    """None for raw events, which leave it to the schema: the deprecated among `fields`."""
    latency: Mapping[int, int]
    """Operations per latency bucket (`LATENCY_LABELS`)."""
    variants: Mapping[str, Mapping[str, int]]
    """Operations served each variant, per experiment."""

    @property
    def client_label(self) -> str:
        return " ".join(self.client)


@dataclass(frozen=True, slots=True)
class Exposure:
    experiment: str
    variant: str
    subject: str
    time: datetime | None
    window_s: float


@dataclass
class UsageData:
    uses: list[Use] = field(default_factory=list)
    exposures: list[Exposure] = field(default_factory=list)


def read_usage(records: Iterable[JsonObject]) -> UsageData:
    data = UsageData()
    for record in records:
        kind = record.get("type")
        if kind == "report":
            data.uses += _report_uses(record)
        elif kind == "operation" and not record.get("sampled"):
            data.uses.append(_event_use(record))
        elif kind == "exposure":
            data.exposures.append(_exposure(record))
    return data


def _event_use(event: JsonObject) -> Use:
    fields = event.get("fields")
    duration = event.get("durationMs")
    variants = event.get("variants")
    return Use(
        operation=_text(event.get("operation")),
        client=client_of(event),
        count=1,
        failed=int(event.get("outcome") in FAILED_OUTCOMES),
        fields=[str(coordinate) for coordinate in fields] if isinstance(fields, list) else [],
        deprecated=None,
        latency=({latency_bucket(float(duration)): 1} if isinstance(duration, int | float) else {}),
        variants=(
            {str(name): {str(variant): 1} for name, variant in variants.items()}
            if isinstance(variants, dict)
            else {}
        ),
    )


def _report_uses(report: JsonObject) -> list[Use]:
    signatures = report.get("signatures")
    operations = report.get("operations")
    if not isinstance(signatures, dict) or not isinstance(operations, list):
        return []
    uses = []
    for entry in operations:
        if not isinstance(entry, dict):
            continue
        signature = signatures.get(entry.get("signature"))
        if not isinstance(signature, dict):
            continue
        outcomes = _counts(entry.get("outcomes"))
        uses.append(
            Use(
                operation=_text(signature.get("operation")),
                client=client_of(entry),
                count=_count(entry.get("count")),
                failed=sum(outcomes.get(outcome, 0) for outcome in FAILED_OUTCOMES),
                fields=_texts(signature.get("fields")),
                deprecated=_texts(signature.get("deprecated")),
                latency={
                    _BUCKETS[label]: count
                    for label, count in _counts(entry.get("latencyMs")).items()
                    if label in _BUCKETS
                },
                variants={
                    str(name): _counts(served)
                    for name, served in _mapping(entry.get("variants")).items()
                },
            )
        )
    return uses


def _exposure(event: JsonObject) -> Exposure:
    window = event.get("windowS")
    return Exposure(
        experiment=str(event.get("experiment")),
        variant=str(event.get("variant")),
        subject=str(event.get("subject")),
        time=event_time(event),
        window_s=float(window) if isinstance(window, int | float) else DEFAULT_WINDOW_S,
    )


def exposures_per_variant(
    exposures: Iterable[Exposure],
) -> dict[tuple[str, str], tuple[int, int]]:
    """(experiment, variant) → (exposures, distinct callers), each caller once per window.

    A caller's exposures closer than the window to the last one counted are
    the same exposure, written again by another worker.
    """
    times: defaultdict[tuple[str, str, str], list[Exposure]] = defaultdict(list)
    for exposure in exposures:
        times[(exposure.experiment, exposure.variant, exposure.subject)].append(exposure)
    counted: defaultdict[tuple[str, str], int] = defaultdict(int)
    callers: defaultdict[tuple[str, str], int] = defaultdict(int)
    for (experiment, variant, _), seen in times.items():
        callers[(experiment, variant)] += 1
        counted[(experiment, variant)] += _windows(seen)
    return {key: (counted[key], callers[key]) for key in sorted(counted)}


def _windows(seen: list[Exposure]) -> int:
    """How many windows one caller's exposures to one variant open."""
    dated = sorted((exposure.time, exposure.window_s) for exposure in seen if exposure.time)
    count = len(seen) - len(dated)  # undated ones cannot be matched: each counts
    until: datetime | None = None
    for moment, window_s in dated:
        if until is None or moment >= until:
            count += 1
            until = moment + timedelta(seconds=window_s)
    return count


def _text(value: object) -> str | None:
    return str(value) if value is not None else None


def _texts(value: object) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def _mapping(value: object) -> Mapping[object, object]:
    return value if isinstance(value, dict) else {}


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _counts(value: object) -> dict[str, int]:
    return {str(key): _count(count) for key, count in _mapping(value).items()}
