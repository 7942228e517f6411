"""The raw events usage analytics records, as the JSON objects the sinks store.

See docs/usage.md, Raw events.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

JsonObject = dict[str, object]


@dataclass(frozen=True, slots=True)
class OperationEvent:
    time: float
    """Seconds since the epoch."""
    operation_name: str | None
    operation_hash: str | None
    operation_type: str | None
    client_name: str
    client_version: str
    fields: Sequence[str]
    duration_ms: float
    outcome: str
    error_codes: Sequence[str]
    variants: Mapping[str, str]

    def to_json(self) -> JsonObject:
        return {
            "type": "operation",
            "time": iso_time(self.time),
            "operation": self.operation_name,
            "hash": self.operation_hash,
            "operationType": self.operation_type,
            "client": {"name": self.client_name, "version": self.client_version},
            "fields": list(self.fields),
            "durationMs": round(self.duration_ms, 3),
            "outcome": self.outcome,
            "errors": sorted(set(self.error_codes)),
            "variants": dict(self.variants),
            "sampled": True,
        }


@dataclass(frozen=True, slots=True)
class ExposureEvent:
    time: float
    experiment: str
    variant: str
    subject: str
    """The caller's pseudonym (`subject_of`): counts distinct callers without naming them."""
    client_name: str
    client_version: str
    window_s: float
    """Exposures of one caller to one variant closer together than this count once."""

    def to_json(self) -> JsonObject:
        return {
            "type": "exposure",
            "time": iso_time(self.time),
            "experiment": self.experiment,
            "variant": self.variant,
            "subject": self.subject,
            "client": {"name": self.client_name, "version": self.client_version},
            "windowS": self.window_s,
        }


Event = OperationEvent | ExposureEvent


def subject_of(unit: str, experiment: str, key: bytes) -> str:
    """A pseudonym for a caller, different per experiment so events cannot be joined.

    Keyed (HMAC-SHA256): without the key, hashing every known user id does not
    find the caller. Every replica must share the key for distinct callers to
    count once.
    """
    return hmac.new(key, f"{experiment}\0{unit}".encode(), hashlib.sha256).hexdigest()[:24]


def client_of(record: Mapping[str, object]) -> tuple[str, str]:
    """The name and version of the client a stored record counts."""
    client = record.get("client")
    if isinstance(client, Mapping):
        return str(client.get("name", "unknown")), str(client.get("version", "unknown"))
    return "unknown", "unknown"


def iso_time(seconds: float) -> str:
    """Seconds since the epoch as stored: ISO 8601 in UTC, to the millisecond."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_time(event: Mapping[str, object]) -> datetime | None:
    """When a stored event happened; None when the field is missing or malformed."""
    value = event.get("time")
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
