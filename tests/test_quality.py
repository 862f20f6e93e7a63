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


def _possessive_branches(tree) -> bool:
    """Does the parsed pattern hold a possessive repeat of something with alternatives?"""
    from re import _constants as c

    def walk(items, inside: bool) -> bool:
        for op, av in items:
            if op is c.BRANCH and inside:
                return True
            here = inside or op is c.POSSESSIVE_REPEAT
            if op is c.BRANCH:
                subs = av[1]
            elif op in (c.POSSESSIVE_REPEAT, c.MAX_REPEAT, c.MIN_REPEAT, c.SUBPATTERN, c.ATOMIC_GROUP):
                subs = [av[-1]]
            elif op in (c.ASSERT, c.ASSERT_NOT):
                subs = [av[1]]
            else:
                subs = []
            if any(walk(s, here) for s in subs):
                return True
        return False

    return walk(tree, False)


def test_no_regex_repeats_alternatives_possessively() -> None:
    """Debian 12's python3 (3.11.2) mismatches `(?:a|b)*+` (a CPython bug fixed in later 3.11
    releases): every ods pre-flight search then failed to settle a sheet. Runs possessive, groups
    greedy, so the patterns mean the same on every 3.11."""
    import importlib
    import pkgutil
    from re import _parser

    import dlpscan

    found = []
    for info in pkgutil.walk_packages(dlpscan.__path__, "dlpscan."):
        if info.name.endswith("__main__"):
            continue  # runs the command line when imported
        try:
            module = importlib.import_module(info.name)
        except ImportError:
            continue  # an optional extra (OCR, cluster) that is not installed
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern) and _possessive_branches(
                _parser.parse(value.pattern, value.flags)
            ):
                found.append(f"{info.name}.{name}")
    assert found == []
