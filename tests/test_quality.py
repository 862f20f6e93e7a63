"""Repository-wide checks that CI runs with the tests: lint and the layering contract."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed (pip install -e '.[dev]')")
    return found


def test_ruff_clean() -> None:
    dirs = [d for d in ("dlpscan", "tests", "bench", "scripts") if (ROOT / d).is_dir()]
    proc = subprocess.run([_tool("ruff"), "check", *dirs], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_lower_layers_never_import_higher_ones() -> None:
    proc = subprocess.run(
        [_tool("lint-imports"), "--config", "pyproject.toml"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
