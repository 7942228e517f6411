"""The settings reference, docs/configuration.md, generated from the declarations."""

from __future__ import annotations

from itertools import groupby

from bff.config.settings import Settings, Variable

REGENERATE = "bff settings --markdown > docs/configuration.md"

HEADER = f"""# Configuration

<!-- Generated from bff/config/settings.py: run `{REGENERATE}`.
     tests/unit/bff/test_settings.py fails while this file is not current. -->

The BFF reads its settings once, at start-up, from `BFF_*` environment variables
(and OpenTelemetry's own `OTEL_*` ones). An unknown `BFF_*` name or a malformed
value stops start-up with a message naming the variable. `BFF_PROFILE` chooses
the defaults: `demo` turns developer conveniences on, `production` turns them
off; the table gives both. `bff settings` prints the same list.
"""


def markdown() -> str:
    """docs/configuration.md, from `Settings.documented()`."""
    parts = [HEADER]
    for section, variables in groupby(Settings.documented(), key=lambda var: var.section):
        parts.append(f"\n## {section}\n\n")
        parts.append("| variable | type | demo | production | meaning |\n")
        parts.append("| --- | --- | --- | --- | --- |\n")
        parts.extend(_row(variable) for variable in variables)
    return "".join(parts)


def _row(variable: Variable) -> str:
    cells = (
        f"`{variable.name}`",
        variable.kind,
        _value(variable.default),
        _value(variable.production),
        variable.doc.replace("|", "\\|"),
    )
    return "| " + " | ".join(cells) + " |\n"


def _value(shown: str) -> str:
    return f"`{shown}`" if shown else "—"
