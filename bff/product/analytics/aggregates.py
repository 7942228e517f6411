"""Usage aggregated per interval: what each operation signature did for each client.

The request path adds to a tally; `report` turns the tallies into one record
(see docs/usage.md).
"""

from __future__ import annotations

import hashlib
import os
import socket
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Final

from bff.product.analytics.events import JsonObject, iso_time

if TYPE_CHECKING:
    from bff.execution.operations import Prepared

LATENCY_BOUNDS_MS: Final = tuple(float(f"{10 ** (step / 10):.2g}") for step in range(-10, 48))
"""0.1 ms to 50 s, ten buckets a decade; what lies beyond counts under `+Inf`."""
LATENCY_LABELS: Final = (*(f"{bound:g}" for bound in LATENCY_BOUNDS_MS), "+Inf")


def latency_bucket(duration_ms: float) -> int:
    """The bucket a duration falls in, read to the microsecond as raw events store it."""
    return bisect_left(LATENCY_BOUNDS_MS, round(duration_ms, 3))


Client = tuple[str, str]
_Key = tuple[str | None, str | None, Client]


class Tally:
    """One document's operation, for one client, in one interval."""

    __slots__ = (
        "count",
        "deprecated",
        "errors",
        "fields",
        "latency",
        "operation_type",
        "outcomes",
        "signature",
        "variants",
    )

    def __init__(self, prepared: Prepared | None) -> None:
        self.signature = prepared.signature if prepared is not None else ""
        self.operation_type = prepared.operation_type.value if prepared is not None else None
        self.fields: Sequence[str] = prepared.coordinates if prepared is not None else ()
        self.deprecated: Iterable[str] = prepared.deprecated if prepared is not None else ()
        self.count = 0
        self.outcomes: dict[str, int] = {}
        self.errors: dict[str, int] = {}
        self.latency = [0] * len(LATENCY_LABELS)
        self.variants: dict[str, dict[str, int]] = {}


class Aggregates:
    """The tallies of the current interval; `report` hands them over and starts the next."""

    def __init__(
        self,
        started: float,
        *,
        max_tallies: int = 10_000,
        on_full: Callable[[], None] = lambda: None,
    ) -> None:
        self._tallies: dict[_Key, Tally] = {}
        self._started = started
        self._max_tallies = max_tallies
        self._on_full = on_full
        self.worker = f"{socket.gethostname()}/{os.getpid()}"

    def add(
        self,
        prepared: Prepared | None,
        operation_name: str | None,
        client: Client,
        outcome: str,
        error_codes: Sequence[str],
        seconds: float,
        variants: Mapping[str, str],
    ) -> None:
        """Count one operation: the request path's whole share of usage reporting."""
        key = (prepared.sha256 if prepared is not None else None, operation_name, client)
        tally = self._tallies.get(key)
        if tally is None:
            tally = self._tallies[key] = Tally(prepared)
            if self.full:
                self._on_full()  # to bound memory, the interval should end now
        tally.count += 1
        tally.outcomes[outcome] = tally.outcomes.get(outcome, 0) + 1
        tally.latency[latency_bucket(seconds * 1000)] += 1
        if error_codes:
            for code in {str(code) for code in error_codes}:  # an ErrorCode is not a JSON key
                tally.errors[code] = tally.errors.get(code, 0) + 1
        if variants:
            for experiment, variant in variants.items():
                served = tally.variants.setdefault(experiment, {})
                served[variant] = served.get(variant, 0) + 1

    @property
    def full(self) -> bool:
        """So many tallies that the interval should end now, to bound memory."""
        return len(self._tallies) >= self._max_tallies

    def report(self, now: float) -> JsonObject | None:
        """The interval's record (None when nothing happened); the next interval starts now."""
        tallies, self._tallies = self._tallies, {}
        started, self._started = self._started, now
        if not tallies:
            return None
        signatures: dict[str, _Signature] = {}
        merged: dict[tuple[str, Client], _Sum] = {}
        for (_, operation_name, client), tally in tallies.items():
            ident = signature_id(operation_name, tally.signature)
            signature = signatures.get(ident)
            if signature is None:
                signature = signatures[ident] = _Signature(operation_name, tally.operation_type)
            signature.fields.update(tally.fields)
            signature.deprecated.update(tally.deprecated)
            merged.setdefault((ident, client), _Sum()).add(tally)
        return {
            "type": "report",
            "time": iso_time(now),
            "start": iso_time(started),
            "worker": self.worker,
            "signatures": {ident: signature.to_json() for ident, signature in signatures.items()},
            "operations": [
                {"signature": ident, "client": {"name": client[0], "version": client[1]}}
                | total.to_json()
                for (ident, client), total in merged.items()
            ],
        }


def signature_id(operation_name: str | None, signature: str) -> str:
    return hashlib.sha256(f"{operation_name or ''}\n{signature}".encode()).hexdigest()


class _Signature:
    def __init__(self, operation_name: str | None, operation_type: str | None) -> None:
        self.operation_name = operation_name
        self.operation_type = operation_type
        self.fields: set[str] = set()
        self.deprecated: set[str] = set()

    def to_json(self) -> JsonObject:
        return {
            "operation": self.operation_name,
            "operationType": self.operation_type,
            "fields": sorted(self.fields),
            "deprecated": sorted(self.deprecated),
        }


class _Sum:
    """Tallies of one signature and client added up (its documents differ only in literals)."""

    def __init__(self) -> None:
        self.count = 0
        self.outcomes: dict[str, int] = {}
        self.errors: dict[str, int] = {}
        self.latency = [0] * len(LATENCY_LABELS)
        self.variants: dict[str, dict[str, int]] = {}

    def add(self, tally: Tally) -> None:
        self.count += tally.count
        _add_counts(self.outcomes, tally.outcomes)
        _add_counts(self.errors, tally.errors)
        self.latency = [
            mine + theirs for mine, theirs in zip(self.latency, tally.latency, strict=True)
        ]
        for experiment, served in tally.variants.items():
            _add_counts(self.variants.setdefault(experiment, {}), served)

    def to_json(self) -> JsonObject:
        return {
            "count": self.count,
            "outcomes": self.outcomes,
            "errors": self.errors,
            "latencyMs": {
                label: count
                for label, count in zip(LATENCY_LABELS, self.latency, strict=True)
                if count
            },
            "variants": self.variants,
        }


def _add_counts(total: dict[str, int], more: Mapping[str, int]) -> None:
    for key, count in more.items():
        total[key] = total.get(key, 0) + count
