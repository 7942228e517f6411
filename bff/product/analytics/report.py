"""`bff usage report`: what the usage a sink holds says, in numbers.

See docs/usage.md.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from graphql import GraphQLInterfaceType, GraphQLObjectType, GraphQLSchema

from bff.product.analytics.aggregates import LATENCY_LABELS
from bff.product.analytics.records import UsageData, Use, exposures_per_variant


@dataclass
class Tally:
    count: int = 0
    failed: int = 0
    latency: Counter[int] = field(default_factory=Counter)
    """Operations per latency bucket."""

    @property
    def error_rate(self) -> float:
        return self.failed / self.count if self.count else 0.0

    def add(self, use: Use) -> None:
        self.count += use.count
        self.failed += use.failed
        self.latency.update(use.latency)

    def latency_ms(self, quantile: float) -> str:
        """The upper bound of the latency bucket holding the quantile; `-` with no timings."""
        timed = sum(self.latency.values())
        if not timed:
            return "-"
        seen = 0
        for bucket in sorted(self.latency):
            seen += self.latency[bucket]
            if seen >= quantile * timed:
                break
        label = LATENCY_LABELS[bucket]
        return label if label != "+Inf" else f">{LATENCY_LABELS[-2]}"


@dataclass
class Report:
    operations: dict[str, Tally] = field(default_factory=dict)
    field_clients: dict[str, Counter[str]] = field(default_factory=dict)
    unused_fields: list[str] = field(default_factory=list)
    client_versions: dict[str, Tally] = field(default_factory=dict)
    exposures: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)
    """Experiment → variant → (exposures, distinct callers)."""
    served: dict[str, Counter[str]] = field(default_factory=dict)
    """Experiment → variant → operations served it."""
    operation_count: int = 0


def schema_fields(schema: GraphQLSchema) -> list[str]:
    """Every `Type.field` of the schema's object and interface types, introspection aside."""
    return sorted(
        f"{name}.{field_name}"
        for name, named in schema.type_map.items()
        if not name.startswith("__") and isinstance(named, GraphQLObjectType | GraphQLInterfaceType)
        for field_name in named.fields
    )


def summarise(data: UsageData, fields: Iterable[str]) -> Report:
    report = Report()
    operations: defaultdict[str, Tally] = defaultdict(Tally)
    versions: defaultdict[str, Tally] = defaultdict(Tally)
    field_clients: defaultdict[str, Counter[str]] = defaultdict(Counter)
    served: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for use in data.uses:
        report.operation_count += use.count
        operations[use.operation or "(anonymous)"].add(use)
        versions[use.client_label].add(use)
        for coordinate in use.fields:
            field_clients[coordinate][use.client_label] += use.count
        for experiment, variants in use.variants.items():
            served[experiment].update(variants)
    report.operations = dict(sorted(operations.items(), key=lambda item: (-item[1].count, item[0])))
    report.client_versions = dict(sorted(versions.items()))
    report.field_clients = dict(sorted(field_clients.items()))
    report.unused_fields = [name for name in fields if name not in field_clients]
    by_experiment: defaultdict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    for (experiment, variant), counts in exposures_per_variant(data.exposures).items():
        by_experiment[experiment][variant] = counts
    report.exposures = dict(by_experiment)
    report.served = dict(sorted(served.items()))
    return report


def render(report: Report, *, top: int = 10) -> str:
    exposures = sum(
        count for variants in report.exposures.values() for count, _ in variants.values()
    )
    lines = [f"{report.operation_count} operations, {exposures} exposures"]
    lines += ["", "Top operations", "  count  errors  p50 ms  p99 ms  operation"]
    for name, tally in list(report.operations.items())[:top]:
        lines.append(
            f"  {tally.count:5d}  {tally.error_rate:6.1%}  {tally.latency_ms(0.5):>6}"
            f"  {tally.latency_ms(0.99):>6}  {name}"
        )
    lines += ["", "Error rates per client version", "  count  errors  client"]
    for client, tally in report.client_versions.items():
        lines.append(f"  {tally.count:5d}  {tally.error_rate:6.1%}  {client}")
    lines += ["", "Field usage per client"]
    for coordinate, clients in report.field_clients.items():
        used_by = ", ".join(f"{client} x{count}" for client, count in sorted(clients.items()))
        lines.append(f"  {coordinate}: {used_by}")
    lines += ["", f"Unused fields ({len(report.unused_fields)})"]
    lines += [f"  {coordinate}" for coordinate in report.unused_fields]
    lines += ["", "Experiment exposures", "  exposures  callers  served  experiment / variant"]
    for experiment in sorted(report.exposures.keys() | report.served.keys()):
        variants = report.exposures.get(experiment, {})
        served = report.served.get(experiment, Counter())
        for variant in sorted(variants.keys() | served.keys()):
            count, callers = variants.get(variant, (0, 0))
            lines.append(
                f"  {count:9d}  {callers:7d}  {served[variant]:6d}  {experiment} / {variant}"
            )
    return "\n".join(lines) + "\n"
