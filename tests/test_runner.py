"""The batch runner with a results store that fails: the scan goes on and the report is complete."""

from __future__ import annotations

from pathlib import Path

from dlpscan.pipeline import ScanSettings
from dlpscan.policy import load_policy
from dlpscan.runner import ScanJob, run_scan
from dlpscan.store import Store
from dlpscan.walk import WalkOptions


class CollectingWriter:
    def __init__(self) -> None:
        self.paths: list[str] = []

    def write(self, result) -> None:
        self.paths.append(result.path)


class FlakyStore:
    """A real store whose writes fail `failures` times first (a full disk, a lost connection)."""

    def __init__(self, store: Store, failures: int) -> None:
        self._store, self.failures = store, failures

    def record_results(self, scan_id, results):
        if self.failures:
            self.failures -= 1
            raise OSError("No space left on device")
        return self._store.record_results(scan_id, results)

    def __getattr__(self, name):
        return getattr(self._store, name)


def job(root: Path) -> ScanJob:
    return ScanJob(
        roots=[str(root)],
        walk=WalkOptions(),
        settings=ScanSettings(key=b"k"),
        policy=load_policy("default"),
        jobs=1,
        file_timeout=60,
    )


def make_files(root: Path, n: int) -> None:
    root.mkdir()
    for i in range(n):
        (root / f"f{i}.txt").write_text(f"第{i}号文件\n", encoding="utf-8")


def test_a_store_that_recovers_loses_nothing(tmp_path: Path):
    make_files(tmp_path / "share", 5)
    writer = CollectingWriter()
    with Store.open(str(tmp_path / "s.sqlite")) as real:
        summary = run_scan(job(tmp_path / "share"), FlakyStore(real, failures=1), [writer])
        assert summary.store_error is None
        assert sorted(r.path for r in real.file_results()) == sorted(writer.paths)
    assert len(writer.paths) == 5


def test_a_store_that_stays_broken_is_reported_and_the_report_is_complete(tmp_path: Path):
    make_files(tmp_path / "share", 5)
    writer = CollectingWriter()
    with Store.open(str(tmp_path / "s.sqlite")) as real:
        summary = run_scan(job(tmp_path / "share"), FlakyStore(real, failures=99), [writer])
        assert summary.store_error == "OSError"
        assert real.scans()[0]["status"] == "failed"
    assert len(writer.paths) == 5 and summary.files == 5
