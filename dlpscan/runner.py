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

from dlpscan.model import FileResult, Status
from dlpscan.pipeline import ScanSettings
from dlpscan.policy import Policy
from dlpscan.sinks.files import ReportWriter
from dlpscan.store import Store
from dlpscan.store.results import StoredFile
from dlpscan.walk import Entry, WalkOptions, walk
from dlpscan.workers import Task, WorkerPool

log = logging.getLogger(__name__)
STORE_BATCH = 200
LOOKUP_BATCH = 500


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


def _entry_result(entry: Entry, status: Status, reason: str) -> FileResult:
    result = FileResult(
        entry.display, status, size=entry.size or None, owner=entry.owner, inode=entry.inode or None
    )
    result.mtime = entry.mtime or None
    if status is Status.ERROR:
        result.error = reason
    else:
        result.reason = reason
    return result


def _stamp(results: list[FileResult], entry: Entry) -> None:
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
    writers = list(writers)
    scan_id, done_paths = _open_scan(job, store)
    summary.scan_id = scan_id
    detector_version = job.settings.detector_version()
    batch: list[FileResult] = []
    carried: list[str] = []
    entries_by_task: dict[int, Entry] = {}

    def emit(results: list[FileResult]) -> None:
        for r in results:
            summary.statuses[str(r.status)] += 1
            for w in writers:
                w.write(r)
            if r.is_container:
                continue
            summary.files += 1
            summary.bytes += r.size or 0
            if r.flagged:
                summary.flagged += 1
                summary.severities[r.severity] += 1
        if store is not None:
            batch.extend(results)
            if len(batch) >= STORE_BATCH:
                store.record_results(scan_id, batch)
                batch.clear()
        if on_progress:
            on_progress(summary, summary.bytes)

    def flush() -> None:
        if store is None:
            return
        if batch:
            store.record_results(scan_id, batch)
            batch.clear()
        if carried:
            store.carry_forward(scan_id, carried)
            carried.clear()

    def tasks() -> Iterator[Task]:
        counter = itertools.count()
        entries = walk(job.roots, job.walk)
        while chunk := list(itertools.islice(entries, LOOKUP_BATCH)):
            chunk = [e for e in chunk if e.display not in done_paths]
            previous = (
                store.previous_many([e.display for e in chunk]) if store is not None and not job.full else {}
            )
            for entry in chunk:
                if entry.error:
                    emit([_entry_result(entry, Status.ERROR, entry.error)])
                    continue
                if entry.skip_reason:
                    emit([_entry_result(entry, Status.SKIPPED, entry.skip_reason)])
                    continue
                stored = previous.get(entry.display)
                if stored is not None and _unchanged(stored, entry, detector_version, job.policy.version):
                    summary.unchanged += 1
                    carried.append(entry.display)
                    emit_carried(stored.result, entry)
                    continue
                task_id = next(counter)
                entries_by_task[task_id] = entry
                yield Task(task_id, entry.path, entry.display)

    def emit_carried(result: FileResult, entry: Entry) -> None:
        _stamp([result], entry)
        summary.statuses[str(result.status)] += 1
        summary.files += 1
        summary.bytes += result.size or 0
        if result.flagged:
            summary.flagged += 1
            summary.severities[result.severity] += 1
        for w in writers:
            w.write(result)
        if len(carried) >= STORE_BATCH and store is not None:
            store.carry_forward(scan_id, carried)
            carried.clear()
        if on_progress:
            on_progress(summary, summary.bytes)

    pool = WorkerPool(job.jobs, job.settings, job.file_timeout, job.worker_memory_bytes, job.nice)
    try:
        with _Interrupt() as interrupt:
            for task, results in pool.run(tasks()):
                entry = entries_by_task.pop(task.task_id)
                _stamp(results, entry)
                emit(results)
                if interrupt.requested:
                    pool.stopping = True
            summary.interrupted = interrupt.requested
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        pool.close()
        flush()
        summary.seconds = time.monotonic() - started
        if store is not None and scan_id is not None:
            store.finish_scan(
                scan_id,
                status="interrupted" if summary.interrupted else "completed",
                stats=_stats(summary),
            )
    return summary


def _unchanged(stored: StoredFile, entry: Entry, detector_version: str, policy_version: str) -> bool:
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
