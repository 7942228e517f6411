"""`bff usage report`: what the usage events of a sink say, in numbers.

- top operations by count, with their error rates;
- field usage per client: for each `Type.field`, the clients (name and version)
  that selected it and how often;
- the schema's fields that no operation selected;
- error rates per client version: operations answered with errors (`error`,
  no data at all, or `partial`);
- experiment exposures per variant: exposure events and distinct callers.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from graphql import GraphQLInterfaceType, GraphQLObjectType, GraphQLSchema

from bff.analytics.events import JsonObject, client_label

FAILED_OUTCOMES = frozenset({"error", "partial"})


@dataclass
class Tally:
    count: int = 0
    failed: int = 0

    @property
    def error_rate(self) -> float:
        return self.failed / self.count if self.count else 0.0


@dataclass
class Report:
    operations: dict[str, Tally] = field(default_factory=dict)
    field_clients: dict[str, Counter[str]] = field(default_factory=dict)
    unused_fields: list[str] = field(default_factory=list)
    client_versions: dict[str, Tally] = field(default_factory=dict)
    exposures: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)
    """Experiment → variant → (exposure events, distinct callers)."""
    events: int = 0


def schema_fields(schema: GraphQLSchema) -> list[str]:
    """Every `Type.field` of the schema's object and interface types, introspection aside."""
    return sorted(
        f"{name}.{field_name}"
        for name, named in schema.type_map.items()
        if not name.startswith("__") and isinstance(named, GraphQLObjectType | GraphQLInterfaceType)
        for field_name in named.fields
    )


def summarise(events: Iterable[JsonObject], fields: Iterable[str]) -> Report:
    report = Report()
    operations: defaultdict[str, Tally] = defaultdict(Tally)
    versions: defaultdict[str, Tally] = defaultdict(Tally)
    field_clients: defaultdict[str, Counter[str]] = defaultdict(Counter)
    exposures: defaultdict[tuple[str, str], int] = defaultdict(int)
    subjects: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    for event in events:
        report.events += 1
        client = client_label(event)
        if event.get("type") == "operation":
            failed = event.get("outcome") in FAILED_OUTCOMES
            name = str(event.get("operation") or "(anonymous)")
            for tally in (operations[name], versions[client]):
                tally.count += 1
                tally.failed += failed
            used = event.get("fields")
            for coordinate in used if isinstance(used, list) else ():
                field_clients[str(coordinate)][client] += 1
        elif event.get("type") == "exposure":
            key = (str(event.get("experiment")), str(event.get("variant")))
            exposures[key] += 1
            subjects[key].add(str(event.get("subject")))
    report.operations = dict(sorted(operations.items(), key=lambda item: -item[1].count))
    report.client_versions = dict(sorted(versions.items()))
    report.field_clients = dict(sorted(field_clients.items()))
    report.unused_fields = [name for name in fields if name not in field_clients]
    by_experiment: defaultdict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    for (experiment, variant), count in sorted(exposures.items()):
        by_experiment[experiment][variant] = (count, len(subjects[(experiment, variant)]))
    report.exposures = dict(by_experiment)
    return report


def render(report: Report, *, top: int = 10) -> str:
    lines = [f"{report.events} events"]
    lines += ["", "Top operations", "  count  errors  operation"]
    for name, tally in list(report.operations.items())[:top]:
        lines.append(f"  {tally.count:5d}  {tally.error_rate:6.1%}  {name}")
    lines += ["", "Error rates per client version", "  count  errors  client"]
    for client, tally in report.client_versions.items():
        lines.append(f"  {tally.count:5d}  {tally.error_rate:6.1%}  {client}")
    lines += ["", "Field usage per client"]
    for coordinate, clients in report.field_clients.items():
        used_by = ", ".join(f"{client} x{count}" for client, count in sorted(clients.items()))
        lines.append(f"  {coordinate}: {used_by}")
    lines += ["", f"Unused fields ({len(report.unused_fields)})"]
    lines += [f"  {coordinate}" for coordinate in report.unused_fields]
    lines += ["", "Experiment exposures", "  exposures  callers  experiment / variant"]
    for experiment, variants in report.exposures.items():
        for variant, (count, callers) in variants.items():
            lines.append(f"  {count:9d}  {callers:7d}  {experiment} / {variant}")
    return "\n".join(lines) + "\n"
