"""The pipeline's versioning: what decides whether a rescan may reuse a file's stored results."""

from __future__ import annotations

import shutil
from pathlib import Path

from dlpscan.pipeline import ScanSettings, code_version

ROOT = Path(__file__).resolve().parents[1]


def test_detector_version_follows_the_code_that_decides_findings(tmp_path: Path) -> None:
    package = tmp_path / "dlpscan"
    shutil.copytree(ROOT / "dlpscan", package, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    before = code_version(package)
    (package / "report" / "render.py").write_text("# a report change\n", "utf-8")
    assert code_version.__wrapped__(package) == before
    (package / "detect" / "validators.py").write_text("# a detection change\n", "utf-8")
    assert code_version.__wrapped__(package) != before


def test_detector_version_names_code_definitions_and_key() -> None:
    scanner, definitions, key_id = ScanSettings(key=b"k").detector_version().split("+")
    assert scanner.endswith("-" + code_version()) and len(definitions) == 12 and len(key_id) == 8
    assert ScanSettings(key=b"other").detector_version().split("+")[2] != key_id
