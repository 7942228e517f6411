"""`bff usage deprecated`: which clients still use the schema's deprecated parts.

Reads `bff_deprecated_usage_total` from running BFFs' `/metrics`, or the usage
a sink recorded (see docs/api-contract.md, Schema versioning).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bff.product.analytics.records import UsageData

DEFAULT_URL = "http://localhost:8000/metrics"
FAMILY = "bff_deprecated_usage"
_WITNESS = "bff_graphql_requests_in_flight"
"""A family every BFF serves: its absence means the URL is not a BFF's metrics."""

Usage = dict[str, dict[tuple[str, str], float]]
"""Uses per coordinate, per client name and version."""


class ScrapeFailed(Exception):
    """A metrics URL could not be read, or is not a BFF's."""


def scrape(url: str, *, timeout_s: float = 5.0) -> str:
    try:
        response = httpx.get(url, timeout=timeout_s)
    except httpx.HTTPError as error:
        raise ScrapeFailed(f"cannot read {url}: {error or type(error).__name__}") from None
    if response.status_code != 200:
        raise ScrapeFailed(f"cannot read {url}: HTTP {response.status_code}")
    return response.text


def add_usage(usage: Usage, text: str, *, source: str = "the metrics") -> None:
    """Add the counts in one Prometheus text exposition to `usage`."""
    seen_bff = False
    try:
        for family in text_string_to_metric_families(text):
            seen_bff = seen_bff or family.name == _WITNESS
            if family.name != FAMILY:
                continue
            for sample in family.samples:
                if sample.name == f"{FAMILY}_total":
                    labels = sample.labels
                    clients = usage.setdefault(labels["coordinate"], {})
                    client = (labels["client_name"], labels["client_version"])
                    clients[client] = clients.get(client, 0.0) + sample.value
    except (ValueError, KeyError) as error:
        raise ScrapeFailed(f"{source} is not Prometheus text: {error}") from None
    if not seen_bff:
        raise ScrapeFailed(f"{source} holds no BFF metrics ({_WITNESS} is missing)")


def recorded(data: UsageData, deprecated: Mapping[str, str]) -> Usage:
    """The uses of deprecated coordinates that usage records hold.

    A report names the deprecated coordinates of each signature; a raw event
    only its coordinates, of which those `deprecated` names count.
    """
    usage: Usage = {}
    for use in data.uses:
        used = use.deprecated
        if used is None:
            used = [coordinate for coordinate in use.fields if coordinate in deprecated]
        for coordinate in used:
            clients = usage.setdefault(coordinate, {})
            clients[use.client] = clients.get(use.client, 0.0) + use.count
    return usage


def report(usage: Usage, deprecated: Mapping[str, str]) -> list[str]:
    """Per used coordinate its clients, most uses first; then the deprecated ones unused."""
    used = {coordinate: clients for coordinate, clients in usage.items() if clients}
    rows = [
        (*client, round(count)) for clients in used.values() for client, count in clients.items()
    ]
    name_width = max((len(name) for name, _, _ in rows), default=0)
    version_width = max((len(version) for _, version, _ in rows), default=0)
    count_width = max((len(str(count)) for _, _, count in rows), default=0)
    lines = []
    for coordinate in sorted(used):
        clients = used[coordinate]
        total = round(sum(clients.values()))
        lines.append(f"{coordinate}: {total} use{'' if total == 1 else 's'}")
        for (name, version), count in sorted(clients.items(), key=lambda item: (-item[1], item[0])):
            lines.append(
                f"  {name:<{name_width}}  {version:<{version_width}}  {round(count):>{count_width}}"
            )
    lines += [f"{coordinate}: no use seen" for coordinate in deprecated if coordinate not in used]
    return lines


def show_deprecated(urls: Sequence[str], deprecated: Mapping[str, str]) -> int:
    """`bff usage deprecated`: 2 when a URL cannot be read."""
    usage: Usage = {}
    try:
        for url in urls:
            add_usage(usage, scrape(url), source=url)
    except ScrapeFailed as error:
        print(f"bff: {error}", file=sys.stderr)
        return 2
    print_report(usage, deprecated)
    return 0


def print_report(usage: Usage, deprecated: Mapping[str, str]) -> None:
    for line in report(usage, deprecated):
        print(line)
