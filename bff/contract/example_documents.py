"""GraphiQL's example documents as `.graphql` files, for client code generators.

`python -m bff.contract.example_documents DIR` writes them; `--check` fails when they are
stale (docs/client-types.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bff.contract.examples import GRAPHIQL_TABS

COMMAND = "python -m bff.contract.example_documents"
HEADER = f"# Generated from bff/contract/examples.py by `{COMMAND}`.\n"


def graphql_files() -> dict[str, str]:
    """File name -> text, one file per operation GraphiQL opens with."""
    return {f"{example.name}.graphql": HEADER + example.query for example in GRAPHIQL_TABS}


def stale(directory: Path) -> list[str]:
    """The files in `directory` that differ from, lack or outlive the examples."""
    expected = graphql_files()
    present = {path.name for path in directory.glob("*.graphql")}
    return sorted(
        name
        for name in expected.keys() | present
        if not (directory / name).is_file()
        or name not in expected
        or (directory / name).read_text(encoding="utf-8") != expected[name]
    )


def write(directory: Path) -> None:
    """Write the files to `directory`, removing `.graphql` files no example has any more."""
    directory.mkdir(parents=True, exist_ok=True)
    expected = graphql_files()
    for path in directory.glob("*.graphql"):
        if path.name not in expected:
            path.unlink()
    for name, text in expected.items():
        (directory / name).write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--check", action="store_true", help="fail if the files are not current")
    args = parser.parse_args(argv)
    if not args.check:
        write(args.directory)
        return 0
    if outdated := stale(args.directory):
        print(
            f"{args.directory}: not current with bff/contract/examples.py: {', '.join(outdated)}; "
            f"run `{COMMAND} {args.directory}`",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
