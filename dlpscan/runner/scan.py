"""The batch scan: walk the roots, skip unchanged files, scan the rest in parallel, stream results.

Results go to the report writers as they finish and to the store in batches (one transaction
each), so an interrupted scan leaves the store consistent and `--resume` can continue it. A resumed
scan is one scan: the files its first part recorded are reported and counted again from the store.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from dlpscan.model import FileResult, Status
from dlpscan.policy import Policy
from dlpscan.runner.lines import assess, entry_result, reassessed, reported, stamp, unchanged
from dlpscan.runner.record import Recorder, ScanSummary
from dlpscan.runner.refresh import READ, REFRESHED, EdmRefresh
from dlpscan.settings import ScanSettings
from dlpscan.sinks.files import ReportWriter
from dlpscan.store import Store, StoredFile
from dlpscan.store.db import describe
from dlpscan.walk import Entry, WalkOptions, root_key, walk
from dlpscan.workers import Executor, Task, WorkerPool

log = logging.getLogger(__name__)
T = TypeVar("T")
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
    stale_days: int = 365
    cluster: str | None = None  # the Dask scheduler the executor runs tasks on (recorded with the scan)


@dataclass
class _Opened:
    scan_id: int | None = None
    done: dict[str, bool] | None = None  # resuming: keys recorded so far -> carried forward unchanged
    seconds: float = 0.0  # resuming: time the interrupted part took


class _Interrupt:
    """SIGINT/SIGTERM stop dispatching new files; running ones finish or are cut by the pool."""

    def __init__(self, on_request: Callable[[], None]) -> None:
        self.requested = False
        self._on_request = on_request
        self._old: dict[int, object] = {}

    def __enter__(self) -> _Interrupt:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested:  # second Ctrl-C: stop now
            raise KeyboardInterrupt
        self.requested = True
        self._on_request()
        log.warning(
            "stopping after the files in progress (signal %d); run again with --resume to continue", signum
        )

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


def _count_ahead(job: ScanJob, summary: ScanSummary) -> None:
    """Walk the roots once more in the background to learn the totals for an ETA."""

    def count() -> None:
        files = size = 0
        for entry in walk(job.roots, dataclasses.replace(job.walk, access=None)):
            files += 1
            size += entry.size
        summary.total_files, summary.total_bytes = files, size

    threading.Thread(target=count, name="dlpscan-count", daemon=True).start()


def run_scan(
    job: ScanJob,
    store: Store | None,
    writers: Iterable[ReportWriter],
    on_progress: Callable[[ScanSummary, int], None] | None = None,
    executor: Executor | None = None,
) -> ScanSummary:
    """Run a whole scan; `on_progress(summary, bytes_done)` is called after every file.

    Files are read by `executor` (default: a local `WorkerPool` of `job.jobs` processes), which the
    scan closes. With a progress callback the roots are also counted in the background, for an ETA.
    Raises `workers.WorkerStartError` when worker processes cannot start, and what the executor
    raises when it is lost (`cluster.ClusterLost`): the scan is then recorded as interrupted.
    """
    summary = ScanSummary()
    if on_progress is not None:
        _count_ahead(job, summary)
    started = time.monotonic()
    opened = _open_scan(job, store)
    summary.scan_id = opened.scan_id
    recorder = Recorder(summary, list(writers), store, opened.scan_id, on_progress)
    lookup = _Lookup(store, adopt=not job.full)
    refresh = EdmRefresh(job.settings, job.policy, store)
    detector_version = job.settings.detector_version()
    done = opened.done or {}
    entries_by_task: dict[int, Entry] = {}

    def assessed(lines: list[FileResult]) -> list[FileResult]:
        assess(lines, job.policy, job.stale_days, time.time())
        return lines

    def tasks() -> Iterator[Task]:
        counter = itertools.count()
        entries = walk(job.roots, job.walk)
        while chunk := list(itertools.islice(entries, LOOKUP_BATCH)):
            wanted = [e for e in chunk if not job.full or e.key in done]
            previous = lookup.previous(wanted)
            for entry in chunk:
                stored = previous.get(entry.key)
                if entry.key in done and stored is not None:
                    recorder.resumed(assessed(reported(stored, entry)), done[entry.key])
                elif entry.error or entry.skip_reason:
                    status = Status.ERROR if entry.error else Status.SKIPPED
                    line = entry_result(entry, status, entry.error or entry.skip_reason or "")
                    recorder.results(assessed([line]), entry)
                elif (
                    stored is not None
                    and unchanged(
                        stored, entry, detector_version, job.policy.version, job.settings.content_hash
                    )
                    and (outcome := refresh.check(stored)) != READ
                ):
                    if outcome == REFRESHED:
                        recorder.refreshed(assessed(reported(stored, entry)), entry)
                    else:
                        lines = assessed(reported(stored, entry))
                        recorder.carried_forward(stored, entry, lines, reassessed(stored, lines))
                else:
                    task_id = next(counter)
                    entries_by_task[task_id] = entry
                    yield Task(task_id, entry.path, entry.display, size=entry.size)

    pool = executor or WorkerPool(
        job.jobs, job.settings, job.file_timeout, job.worker_memory_bytes, job.nice, once=True
    )
    completed = False
    try:
        with _Interrupt(pool.stop) as interrupt:
            for task, results in pool.run(tasks()):
                entry = entries_by_task.pop(task.task_id)
                stamp(results, entry)
                recorder.results(assessed(results), entry)
            summary.interrupted = interrupt.requested
        completed = True
    except KeyboardInterrupt:
        summary.interrupted = completed = True
    finally:
        if not completed:  # stopped by an exception: files may still be read
            pool.close()
        summary.seconds = opened.seconds + time.monotonic() - started
        status = "interrupted" if summary.interrupted or not completed else "completed"
        try:
            recorder.finish(status, _stats(summary))
        finally:
            pool.close()  # reaps the workers the pool let go as its run ended
    return summary


class _Lookup:
    """Stored state of walked files, by key. Files stored before keys were resolved paths (under the
    path as typed) are adopted when the same file (inode, size, mtime) is met under its key."""

    def __init__(self, store: Store | None, adopt: bool) -> None:
        self.store = store
        self._adopt = adopt and store is not None and _safely(store.has_unadopted, False)

    def previous(self, entries: list[Entry]) -> dict[str, StoredFile]:
        """An unreadable store means: read everything."""
        if self.store is None or not entries:
            return {}
        found = _safely(lambda: self.store.previous_many([e.key for e in entries]), {})
        typed = {e.display: e for e in entries if e.key not in found and e.display != e.key}
        if self._adopt and typed:
            found |= self._adopted(typed)
        return found

    def _adopted(self, typed: dict[str, Entry]) -> dict[str, StoredFile]:
        assert self.store is not None
        old = _safely(lambda: self.store.previous_many(list(typed)), {})
        same = {}
        for path, s in old.items():
            e = typed[path]
            if s.device is None and (s.inode, s.size, s.mtime) == (e.inode, e.size, e.mtime):
                same[path] = e.key
        if not same:
            return {}
        try:
            self.store.adopt(same)
        except Exception as exc:
            log.warning("cannot update files stored under their typed paths (%s)", describe(exc))
            return {}
        return _safely(lambda: self.store.previous_many(list(same.values())), {})


def _safely(read: Callable[[], T], default: T) -> T:
    try:
        return read()
    except Exception as exc:
        log.warning("cannot read the results store (%s); these files are read again", describe(exc))
        return default


def _open_scan(job: ScanJob, store: Store | None) -> _Opened:
    if store is None:
        return _Opened()
    roots = [root_key(r) for r in job.roots]
    if job.resume:
        previous = store.last_incomplete_scan(roots)
        if previous is not None:
            log.warning("resuming scan %d", previous)
            stats = (store.scan(previous) or {}).get("stats") or {}
            return _Opened(previous, store.paths_done(previous), float(stats.get("seconds", 0.0)))
        log.warning("no interrupted scan of these roots to resume; starting a new scan")
    scan_id = store.begin_scan(
        roots,
        policy=job.policy.name,
        policy_version=job.policy.version,
        detector_version=job.settings.detector_version(),
        options={"full": job.full, "jobs": job.jobs, "engine": job.settings.backend}
        | ({"cluster": job.cluster} if job.cluster else {}),
        edm=job.settings.edm.describe() if job.settings.edm is not None else None,
    )
    return _Opened(scan_id)


def _stats(summary: ScanSummary) -> dict:
    return {
        "files": summary.files,
        "bytes": summary.bytes,
        "flagged": summary.flagged,
        "unchanged": summary.unchanged,
        "edm_refreshed": summary.edm_refreshed,
        "reassessed": summary.reassessed,
        "statuses": dict(summary.statuses),
        "severities": dict(summary.severities),
        "seconds": round(summary.seconds, 3),
    }
