"""The batch runner with a results store that fails: the scan goes on and the report is complete."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from dlpscan.model import FileResult, Status
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
        (root / f"f{i:04d}.txt").write_text(f"第{i}号文件\n", encoding="utf-8")


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


class CountingStore:
    """A real store, counting the results it is asked to record."""

    def __init__(self, store: Store) -> None:
        self._store, self.recorded = store, 0

    def record_results(self, scan_id, results):
        self.recorded += len(results)
        return self._store.record_results(scan_id, results)

    def __getattr__(self, name):
        return getattr(self._store, name)


def test_a_result_the_store_refuses_costs_neither_the_others_nor_retries(tmp_path: Path, monkeypatch):
    from dlpscan.store import codec

    share = tmp_path / "share"
    make_files(share, 1000)
    (share / "f0005.txt").write_text("姓名：测试甲 手机：13800138000\n", encoding="utf-8")
    real_rows = codec.entity_rows

    def refuse_one(file_id, result):  # as the codec refuses an unmasked sample: ValueError
        if result.path.endswith("f0005.txt") and result.entities:
            raise ValueError("CN_MOBILE: a sample is not masked; not stored")
        return real_rows(file_id, result)

    monkeypatch.setattr(codec, "entity_rows", refuse_one)
    writer = CollectingWriter()
    with Store.open(str(tmp_path / "s.sqlite")) as real:
        counting = CountingStore(real)
        summary = run_scan(job(share), counting, [writer])
        stored = {Path(r.path).name: r for r in real.file_results(summary.scan_id)}
    assert len(writer.paths) == 1000 and summary.store_error is None
    assert summary.unstored == [
        f"{share}/f0005.txt: ValueError: CN_MOBILE: a sample is not masked; not stored"
    ]
    assert len(stored) == 1000 and stored["f0005.txt"].status == "error"  # a stand-in says what happened
    assert "refused" in stored["f0005.txt"].error
    assert counting.recorded < 1000 + 2 * 200  # once each, plus the refused batch one by one (was ~800 x 200)


def test_an_unavailable_store_is_retried_with_backoff_not_after_every_file(tmp_path: Path):
    make_files(tmp_path / "share", 1000)
    writer = CollectingWriter()
    with Store.open(str(tmp_path / "s.sqlite")) as real:
        down = FlakyStore(real, failures=10**6)
        summary = run_scan(job(tmp_path / "share"), down, [writer])
    attempts = 10**6 - down.failures
    assert summary.store_error == "OSError" and len(writer.paths) == 1000
    assert attempts < 25  # backoff: 1, 2, 4 ... seconds, then the final retries (was one per file: ~800)


@pytest.mark.timeout(120)
def test_workers_that_cannot_start_stop_the_pool_with_the_reason(tmp_path: Path):
    """Settings the workers cannot load (a recognizer folder broken after the parent checked it)
    end the run with the reason; they used to be respawned for ever."""
    from dlpscan.workers import Task, WorkerPool, WorkerStartError

    folder = tmp_path / "recognizers"
    folder.mkdir()
    (folder / "bad.yaml").write_text("entity: [broken\n", encoding="utf-8")
    (tmp_path / "a.txt").write_text("x\n", encoding="utf-8")
    pool = WorkerPool(2, ScanSettings(key=b"k", recognizer_dirs=(str(folder),)), 60)
    try:
        with pytest.raises(WorkerStartError, match=r"bad\.yaml: invalid YAML: line 2, column 1"):
            list(pool.run(iter([Task(0, str(tmp_path / "a.txt"), "a.txt")])))
    finally:
        pool.close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("once", [False, True])
def test_a_pool_for_one_run_lets_its_workers_go_as_the_run_ends(tmp_path: Path, once: bool):
    """A scan's pool tells its workers to exit as its last result comes in, so that they exit while the
    scan stores it; a pool that serves more runs (the watch daemon's) keeps them for the next one."""
    from dlpscan.workers import Task, WorkerPool

    (tmp_path / "a.txt").write_text("手机 13800138000\n", encoding="utf-8")
    pool = WorkerPool(1, ScanSettings(key=b"k"), 60, once=once)
    try:
        ((_, results),) = list(pool.run(iter([Task(0, str(tmp_path / "a.txt"), "a.txt")])))
        assert results[0].entities["CN_MOBILE"].distinct == 1
        (worker,) = pool._workers
        worker.process.join(10 if once else 0.5)
        assert worker.process.exitcode == (0 if once else None)
    finally:
        pool.close()
    assert pool._workers == [] and worker.process.exitcode is not None


class Scripted:
    """A real store that refuses every batch of more than one result (as a bad result makes the
    whole transaction fail), refuses the result of `bad`, and is down for `down` while `outage`."""

    def __init__(self, store: Store, bad: str, down: str) -> None:
        self._store, self.bad, self.down, self.outage = store, bad, down, True

    def record_results(self, scan_id, results):
        if len(results) > 1:
            raise ValueError("one of the batch cannot be stored")
        (r,) = results
        if r.path == self.bad and r.status is not Status.ERROR:
            raise ValueError("CN_MOBILE: a sample is not masked; not stored")
        if r.path == self.down and self.outage:
            raise OSError(28, "No space left on device")
        return self._store.record_results(scan_id, results)

    def __getattr__(self, name):
        return getattr(self._store, name)


def test_the_recorder_scan_and_watch_share_keeps_what_an_outage_interrupts(tmp_path: Path):
    from dlpscan.runner.storing import ResultRecorder

    refused: list[tuple[str, str]] = []
    with Store.open(str(tmp_path / "s.sqlite")) as real:
        scan_id = real.begin_scan(
            ["/r"], policy="default", policy_version="1", detector_version="d", options={}
        )
        store = Scripted(real, bad="/r/b", down="/r/c")
        recorder = ResultRecorder(store, on_refused=lambda path, why: refused.append((path, why)))
        pending = [FileResult(f"/r/{n}", Status.SCANNED, size=1) for n in "abcd"]
        with pytest.raises(OSError):
            recorder.record(scan_id, pending)
        assert [r.path for r in pending] == ["/r/c", "/r/d"]  # a and b's stand-in are stored
        store.outage = False
        recorder.record(scan_id, pending)
        assert pending == []
        stored = {r.path: r for r in real.file_results(scan_id)}
    assert refused == [("/r/b", "ValueError: CN_MOBILE: a sample is not masked; not stored")]
    assert sorted(stored) == ["/r/a", "/r/b", "/r/c", "/r/d"]
    assert [p for p, r in stored.items() if r.status == "error"] == ["/r/b"]
    assert stored["/r/b"].error == (
        "the results store refused this file's result (ValueError: CN_MOBILE: a sample is not masked; not stored)"
    )


_BLOCK_CYCLE = """
import resource, sys
from dlpscan.workers import tune_allocator
tuned = sys.argv[1] == "tuned" and tune_allocator()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for i in range(40):  # a scan's blocks: a few MB each, made, copied and freed one after the other
    block = bytearray(3_000_000 + i * 50_000)
    copy = bytes(block)
    del block, copy
print(tuned, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt's parameters are glibc's")
def test_workers_keep_large_buffers_on_the_heap():
    glibc_defaults = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}

    def page_faults(mode: str) -> tuple[str, int]:
        out = subprocess.run(
            [sys.executable, "-c", _BLOCK_CYCLE, mode],
            capture_output=True,
            text=True,
            check=True,
            env=glibc_defaults,
        )
        tuned, faults = out.stdout.split()
        return tuned, int(faults)

    (_, default), (tuned, kept) = page_faults("default"), page_faults("tuned")
    assert tuned == "True"  # glibc took both thresholds
    assert kept * 5 < default  # each block was mapped and unmapped anew: its pages faulted in again
