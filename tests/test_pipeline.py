"""The pipeline's versioning: what decides whether a rescan may reuse a file's stored results."""

from __future__ import annotations

import shutil
from pathlib import Path

from dlpscan.pipeline import ScanSettings
from dlpscan.settings import code_version

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


def test_the_cyclic_collector_pauses_for_detection_only(tmp_path: Path, monkeypatch) -> None:
    """Paused while a block is detected and counted (no cycles are made there), on again after a
    block whose detection raised, and left off when the caller had switched it off."""
    import gc

    from dlpscan.pipeline import FileScanner

    scanner = FileScanner(ScanSettings(key=b"k"))
    seen: list[bool] = []
    scan_block = scanner.engine.scan_block

    def recording(block):
        seen.append(gc.isenabled())
        if len(seen) == 1:
            raise ValueError("a detector bug")
        return scan_block(block)

    monkeypatch.setattr(scanner.engine, "scan_block", recording)
    path = tmp_path / "people.txt"
    path.write_text("客户 张三 手机 13912345678\n", encoding="utf-8")
    [failed] = scanner.scan_path(path, "people.txt")
    [result] = scanner.scan_path(path, "people.txt")
    assert failed.status.value == "error" and result.entities["CN_MOBILE"].distinct == 1
    assert seen == [False, False] and gc.isenabled()
    gc.disable()
    try:
        scanner.scan_path(path, "people.txt")
        assert not gc.isenabled()
    finally:
        gc.enable()
