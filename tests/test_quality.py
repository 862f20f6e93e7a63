"""Repository-wide checks that CI runs with the tests: lint and the layering contract."""

from __future__ import annotations

import re
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


DOCS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_docs_link_to_files_that_exist_and_name_no_machine_paths() -> None:
    """Written for outside contributors: relative links resolve, nothing points into a workspace."""
    assert (ROOT / "CONTRIBUTING.md").is_file() and not (ROOT / "docs" / "CONTRIBUTING-internal.md").exists()
    broken, machine = [], []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        local = [t for t in LINK.findall(text) if "://" not in t and not t.startswith("mailto:")]
        broken += [f"{doc.name}: {t}" for t in local if not (doc.parent / t).exists()]
        machine += [f"{doc.name}: {m}" for m in re.findall(r"/work/\w+|\.\./shared\b|\bthe lead\b", text)]
    assert broken == [] and machine == []


def test_no_test_reads_outside_the_repository() -> None:
    """The suite runs from a clone alone: no test reaches for the workspace's shared material."""
    sources = list((ROOT / "tests").rglob("*.py"))
    offending = [
        p.relative_to(ROOT).as_posix()
        for p in sources
        if re.search(r"""["']shared["']|/work/|parents\[\d\]\.parent""", p.read_text(encoding="utf-8"))
        and p.name != "test_quality.py"
    ]
    assert offending == []
