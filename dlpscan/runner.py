"""The batch scan: walk the roots, skip unchanged files, scan the rest in parallel, stream results.

Results go to the report writers as they finish and to the store in batches (one transaction
each), so an interrupted scan leaves the store consistent and `--resume` can continue it.
"""

from __future__ import annotations

import itertools
import logging
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from dlpscan.model import FileResult, Status
from dlpscan.pipeline import ScanSettings, file_sha256
from dlpscan.policy import Policy
from dlpscan.sinks.files import ReportWriter
from dlpscan.store import Store
from dlpscan.store.results import StoredFile
from dlpscan.walk import Entry, WalkOptions, walk
from dlpscan.workers import Task, WorkerPool

log = logging.getLogger(__name__)
STORE_BATCH = 200
LOOKUP_BATCH = 500
FINAL_RETRIES = (0.5, 2.0, 5.0)  # seconds between the last attempts to store pending results


@dataclass
class ScanJob:
    roots: list[str]
    walk: WalkOptions
    settings: ScanSettings
    policy: Policy
    jobs: int
    file_timeout: float
    worker_memory_bytes: int = 0
    nice: int = 0
    full: bool = False
    resume: bool = False


@dataclass
class ScanSummary:
    scan_id: int | None = None
    files: int = 0
    bytes: int = 0
    flagged: int = 0
    unchanged: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    severities: Counter[str] = field(default_factory=Counter)
    interrupted: bool = False
    seconds: float = 0.0
    # Set by a background count of the roots (for an ETA) once that walk has finished.
    total_files: int | None = None
    total_bytes: int | None = None
    store_error: str | None = None  # the results store could not be written (the report is complete)


class _Interrupt:
    """SIGINT/SIGTERM stop dispatching new files; running ones finish or are cut by the pool."""

    def __init__(self) -> None:
        self.requested = False
        self._old: dict[int, object] = {}

    def __enter__(self) -> _Interrupt:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested:  # second Ctrl-C: stop now
            raise KeyboardInterrupt
        self.requested = True
        log.warning(
            "stopping after the files in progress (signal %d); run again with --resume to continue", signum
        )

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


def entry_result(entry: Entry, status: Status, reason: str) -> FileResult:
    result = FileResult(
        entry.display, status, size=entry.size or None, owner=entry.owner, inode=entry.inode or None
    )
    result.mtime = entry.mtime or None
    if status is Status.ERROR:
        result.error = reason
    else:
        result.reason = reason
    return result


def stamp(results: list[FileResult], entry: Entry) -> None:
    """Filesystem facts of the top-level file on every line it produced (members inherit owner/mtime)."""
    for r in results:
        r.owner = entry.owner
        r.mtime = entry.mtime
        r.inode = entry.inode if r.path == entry.display else None
        if r.path == entry.display:
            r.size = entry.size


def _count_ahead(job: ScanJob, summary: ScanSummary) -> None:
    """Walk the roots once more in the background to learn the totals for an ETA."""

    def count() -> None:
        files = size = 0
        for entry in walk(job.roots, job.walk):
            files += 1
            size += entry.size
        summary.total_files, summary.total_bytes = files, size

    threading.Thread(target=count, name="dlpscan-count", daemon=True).start()


class _Recorder:
    """Counts results, writes report lines, and stores results in batches.

    A failing store (full disk, database gone) does not stop the scan: the report keeps every
    line, the batch is kept and retried at the next flush, and the failure is logged once.
    """

    def __init__(
        self,
        summary: ScanSummary,
        writers: list[ReportWriter],
        store: Store | None,
        scan_id: int | None,
        on_progress: Callable[[ScanSummary, int], None] | None,
    ) -> None:
        self.summary, self.writers, self.store, self.scan_id = summary, writers, store, scan_id
        self.on_progress = on_progress
        self.batch: list[FileResult] = []
        self.carried: list[str] = []
        self.store_error: str | None = None

    def results(self, results: list[FileResult]) -> None:
        for r in results:
            self._count(r)
        if self.store is not None:
            self.batch.extend(results)
            if len(self.batch) >= STORE_BATCH:
                self.flush()
        self._progress()

    def carried_forward(self, result: FileResult) -> None:
        """An unchanged file: its stored result is reported again, nothing is read."""
        self.summary.unchanged += 1
        self._count(result)
        if self.store is not None:
            self.carried.append(result.path)
            if len(self.carried) >= STORE_BATCH:
                self.flush()
        self._progress()

    def _count(self, r: FileResult) -> None:
        s = self.summary
        s.statuses[str(r.status)] += 1
        for w in self.writers:
            w.write(r)
        if r.is_container:
            return
        s.files += 1
        s.bytes += r.size or 0
        if r.flagged:
            s.flagged += 1
            s.severities[r.severity] += 1

    def _progress(self) -> None:
        if self.on_progress:
            self.on_progress(self.summary, self.summary.bytes)

    def flush(self) -> None:
        if self.store is None or self.scan_id is None:
            return
        try:
            if self.batch:
                self.store.record_results(self.scan_id, self.batch)
                self.batch.clear()
            if self.carried:
                self.store.carry_forward(self.scan_id, self.carried)
                self.carried.clear()
            if self.store_error is not None:
                log.warning("results store is writable again; pending results were stored")
            self.store_error = None
        except Exception as exc:  # a full disk or a lost database must not stop the scan
            if self.store_error is None:
                log.error(
                    "cannot write to the results store (%s); the report is complete, "
                    "results are kept and retried",
                    type(exc).__name__,
                )
            self.store_error = type(exc).__name__

    def finish(self, interrupted: bool) -> None:
        """Store what is pending, retrying a few times (a database restarting, space freed)."""
        self.flush()
        for delay in FINAL_RETRIES:
            if self.store_error is None:
                break
            time.sleep(delay)
            self.flush()
        if self.store is None or self.scan_id is None:
            return
        status = "failed" if self.store_error else "interrupted" if interrupted else "completed"
        try:
            self.store.finish_scan(self.scan_id, status=status, stats=_stats(self.summary))
        except Exception as exc:
            self.store_error = type(exc).__name__
        self.summary.store_error = self.store_error


def run_scan(
    job: ScanJob,
    store: Store | None,
    writers: Iterable[ReportWriter],
    on_progress: Callable[[ScanSummary, int], None] | None = None,
) -> ScanSummary:
    """Run a whole scan; `on_progress(summary, bytes_done)` is called after every file.

    With a progress callback the roots are also counted in the background, for an ETA.
    """
    summary = ScanSummary()
    if on_progress is not None:
        _count_ahead(job, summary)
    started = time.monotonic()
    scan_id, done_paths = _open_scan(job, store)
    summary.scan_id = scan_id
    recorder = _Recorder(summary, list(writers), store, scan_id, on_progress)
    detector_version = job.settings.detector_version()
    entries_by_task: dict[int, Entry] = {}

    def tasks() -> Iterator[Task]:
        counter = itertools.count()
        entries = walk(job.roots, job.walk)
        while chunk := list(itertools.islice(entries, LOOKUP_BATCH)):
            chunk = [e for e in chunk if e.display not in done_paths]
            previous = _previous(store, [e.display for e in chunk]) if not job.full else {}
            for entry in chunk:
                if entry.error:
                    recorder.results([entry_result(entry, Status.ERROR, entry.error)])
                elif entry.skip_reason:
                    recorder.results([entry_result(entry, Status.SKIPPED, entry.skip_reason)])
                elif (stored := previous.get(entry.display)) is not None and unchanged(
                    stored, entry, detector_version, job.policy.version, job.settings.content_hash
                ):
                    stamp([stored.result], entry)
                    recorder.carried_forward(stored.result)
                else:
                    task_id = next(counter)
                    entries_by_task[task_id] = entry
                    yield Task(task_id, entry.path, entry.display)

    pool = WorkerPool(job.jobs, job.settings, job.file_timeout, job.worker_memory_bytes, job.nice)
    try:
        with _Interrupt() as interrupt:
            for task, results in pool.run(tasks()):
                stamp(results, entries_by_task.pop(task.task_id))
                recorder.results(results)
                if interrupt.requested:
                    pool.stopping = True
            summary.interrupted = interrupt.requested
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        pool.close()
        summary.seconds = time.monotonic() - started
        recorder.finish(summary.interrupted)
    return summary


def _previous(store: Store | None, paths: list[str]) -> dict[str, StoredFile]:
    """Stored state for the incremental check; an unreadable store means: read everything."""
    if store is None:
        return {}
    try:
        return store.previous_many(paths)
    except Exception as exc:
        log.warning("cannot read the results store (%s); these files are read again", type(exc).__name__)
        return {}


def unchanged(
    stored: StoredFile, entry: Entry, detector_version: str, policy_version: str, content_hash: bool
) -> bool:
    """Same size, mtime and inode, scanned by the same recognizers and policy (and same bytes, if asked)."""
    return (
        not stored.deleted
        and stored.size == entry.size
        and stored.mtime == entry.mtime
        and stored.inode == entry.inode
        and stored.detector_version == detector_version
        and stored.policy_version == policy_version
        and not stored.result.is_container
        and "!" not in stored.path
        and stored.result.status is Status.SCANNED
        and (
            not content_hash
            or (stored.content_hash is not None and stored.content_hash == file_sha256(Path(entry.path)))
        )
    )


def _open_scan(job: ScanJob, store: Store | None) -> tuple[int | None, set[str]]:
    if store is None:
        return None, set()
    if job.resume:
        previous = store.last_incomplete_scan(job.roots)
        if previous is not None:
            log.warning("resuming scan %d", previous)
            return previous, store.paths_done(previous)
        log.warning("no interrupted scan of these roots to resume; starting a new scan")
    scan_id = store.begin_scan(
        job.roots,
        policy=job.policy.name,
        policy_version=job.policy.version,
        detector_version=job.settings.detector_version(),
        options={"full": job.full, "jobs": job.jobs, "engine": job.settings.backend},
    )
    return scan_id, set()


def _stats(summary: ScanSummary) -> dict:
    return {
        "files": summary.files,
        "bytes": summary.bytes,
        "flagged": summary.flagged,
        "unchanged": summary.unchanged,
        "statuses": dict(summary.statuses),
        "severities": dict(summary.severities),
        "seconds": round(summary.seconds, 3),
    }
