"""Queue rows and sweeps -> settled, changed files -> WorkerPool tasks -> store and alert outbox.

`tasks()` is the generator handed to `WorkerPool.run`; `handle()` takes each result. Live queue rows
come first, then sweeps (the catch-up pass over the roots, and directories: new, moved in, or a storm
of files folded into one row). Ordering keeps every step re-doable after kill -9: alerts are queued
before the result is recorded, and a queue row is removed only after its result is recorded.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from dlpscan.model import FileResult, Status
from dlpscan.runner import _entry_result, _stamp, _unchanged
from dlpscan.store import Store
from dlpscan.walk import Entry, display_path, walk
from dlpscan.watch.alerts import AlertOutbox
from dlpscan.watch.observer import Change
from dlpscan.watch.paths import Roots, entry_for, is_dir, lstat, queue_path, same_version, version_key
from dlpscan.watch.retry import StoreGuard
from dlpscan.watch.settle import Pending, recheck_at
from dlpscan.workers import Task

log = logging.getLogger(__name__)

CHUNK = 500  # sweep entries compared with the store per query batch
RECORD_BATCH = 200  # results per store transaction
RECORD_AGE = 0.25  # seconds a result may wait for its batch
QUEUE_POLL = 1.0  # seconds between queue polls when nothing announced new rows
PREP_BUDGET = 0.5  # seconds of preparation before in-flight results are collected
PROBE_WAIT = 0.05  # seconds to wait for new work before letting the pool collect results


class Action(Enum):
    SCAN = "scan"
    RECORD = "record"  # a status without reading (cannot be stat'ed, not a regular file, too large)
    NOTHING = "nothing"  # unchanged since stored
    LATER = "later"  # not settled


@dataclass(frozen=True)
class Versions:
    scan_id: int
    detector: str
    policy: str


class Sweep:
    """Files under a directory (recursive) or in it (shallow), taken in chunks."""

    def __init__(self, path: str, entries: Iterator[Entry], row: int | None, event: str) -> None:
        self.path, self.row, self.event = path, row, event
        self._entries = entries
        self.outstanding = 0
        self.exhausted = False
        self.unsettled: dict[str, float] = {}  # directory -> when to look again

    def chunk(self) -> list[Entry]:
        out = list(itertools.islice(self._entries, CHUNK))
        self.exhausted = len(out) < CHUNK
        return out


@dataclass
class Work:
    entry: Entry
    row: int | None = None
    sweep: Sweep | None = None
    results: list[FileResult] = field(default_factory=list)


def shallow_entries(directory: str, roots: Roots) -> Iterator[Entry]:
    """The files directly in `directory` (not below it), as the walk would report them."""
    try:
        with os.scandir(directory) as it:
            names = sorted(e.path for e in it)
    except OSError as exc:
        yield Entry(directory, display_path(directory), error=f"cannot list directory: {exc.strerror}")
        return
    for path in names:
        st = lstat(path)
        if st is None or is_dir(st, path, roots.options.follow_symlinks) or not roots.accepts(path):
            continue
        entry = entry_for(path, st, roots.options)
        if entry is not None:
            yield entry


class Dispatcher:
    def __init__(
        self,
        store: Store,
        guard: StoreGuard,
        roots: Roots,
        versions: Versions,
        outbox: AlertOutbox,
        pending: Pending,
        enqueue: Callable[[Change, float | None], None],
        settle: tuple[float, float],
        batch_size: int,
        interrupted: Callable[[], bool],
        wake: threading.Event,
        probe: Path,
        beat: Callable[[], None],
    ) -> None:
        self.store, self.guard, self.roots, self.versions = store, guard, roots, versions
        self.outbox, self.pending, self._enqueue = outbox, pending, enqueue
        self.settle, self.max_wait = settle
        self.batch_size = batch_size
        self._interrupted, self._wake, self._probe, self._beat = interrupted, wake, probe, beat
        self._probes: set[int] = set()
        self._ids = itertools.count()
        self._rows: deque[Work] = deque()
        self._swept: deque[Work] = deque()
        self._sweeps: deque[Sweep] = deque()
        self._inflight: dict[int, Work] = {}
        self._batch: list[Work] = []
        self._batch_started = 0.0
        self._waiting: dict[str, float] = {}  # path -> first seen unsettled
        self._hints: list[float] = []  # not_before of rows this process queued
        self._hints_lock = threading.Lock()
        self._last_poll = 0.0
        self._more_due = True
        self.stats: Counter[str] = Counter()

    # ---- what the daemon calls ---------------------------------------------------------------

    def announce(self, not_before: float) -> None:
        """A row was queued (any thread): poll the queue once it is due."""
        with self._hints_lock:
            heapq.heappush(self._hints, not_before)

    def next_wake(self) -> float:
        """When there may be work again (absolute time)."""
        with self._hints_lock:
            soonest = self._hints[0] if self._hints else float("inf")
        return min(soonest, self._last_poll + QUEUE_POLL)

    def sweep_root(self, root: str) -> None:
        """Compare everything under a root with the store (catch-up pass); its globs are the scan's."""
        entries = (e for e in walk([root], self.roots.options) if not self.roots.is_own(e.path))
        self._sweeps.append(Sweep(root, entries, None, "created"))

    def tasks(self) -> Iterator[Task]:
        """The generator for `WorkerPool.run`: it ends only when the daemon stops or reloads.

        The pool collects results only when it asks for the next task; so while files are in flight
        and nothing else is to be done, an empty probe file is handed out every PROBE_WAIT seconds.
        """
        while not self._interrupted():
            work = self._next()
            if work is None:
                if self._inflight and not self._interrupted():
                    task = Task(next(self._ids), str(self._probe), "(probe)")
                    self._probes.add(task.task_id)
                    yield task
                continue
            task = Task(next(self._ids), work.entry.path, work.entry.display)
            self._inflight[task.task_id] = work
            yield task

    def handle(self, task: Task, results: list[FileResult]) -> None:
        if task.task_id in self._probes:
            self._probes.discard(task.task_id)
            return
        work = self._inflight.pop(task.task_id)
        _stamp(results, work.entry)
        if same_version(work.entry, self.roots.options.follow_symlinks):
            key = version_key(work.entry)
            for r in results:
                if r.flagged and not r.is_container:
                    self.outbox.add(r, key)
        else:  # changed while it was read: the result is kept, the alert waits for a settled version
            self._enqueue(Change("modified", work.entry.path, False), None)
            self.stats["changed_while_read"] += 1
        for r in results:
            log.debug("scanned %s: %s%s", r.path, r.status, " flagged " + r.severity if r.flagged else "")
        work.results = results
        self._add(work)

    def flush(self) -> None:
        """Record the batch (one transaction), then remove its queue rows and close finished sweeps."""
        if self._batch:
            batch, self._batch = self._batch, []
            self._record([r for w in batch for r in w.results])
            for w in batch:
                if w.row is not None:
                    self.guard.call(self.store.done, w.row)
                if w.sweep is not None:
                    w.sweep.outstanding -= 1
        self._close_sweeps()

    # ---- choosing the next file --------------------------------------------------------------

    def _next(self) -> Work | None:
        """The next file to scan, or None to let the pool hand back results of files in flight."""
        started = time.monotonic()
        while not self._interrupted():
            self._beat()
            if self._rows:
                return self._rows.popleft()
            if self._inflight and time.monotonic() - started > PREP_BUDGET:
                return None
            if self._queue_due():
                self._claim()
                continue
            if self._swept:
                return self._swept.popleft()
            sweep = next((s for s in self._sweeps if not s.exhausted), None)
            if sweep is not None:
                self._advance(sweep)
                continue
            self.flush()
            if self._inflight:
                self._wait(PROBE_WAIT)
                return None
            self._wait(max(0.0, min(self.next_wake() - time.time(), QUEUE_POLL)))
        return None

    def _wait(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def _queue_due(self) -> bool:
        now = time.time()
        announced = False
        with self._hints_lock:
            while self._hints and self._hints[0] <= now:
                heapq.heappop(self._hints)
                announced = True
        return announced or self._more_due or now - self._last_poll >= QUEUE_POLL

    def _claim(self) -> None:
        now = time.time()
        rows = self.guard.call(self.store.due, now, self.batch_size)
        self._last_poll = now
        self._more_due = len(rows) == self.batch_size
        candidates: list[tuple[Entry, dict]] = []
        for row in rows:
            self.pending.claimed(row["path"])
            entry = self._row_entry(row, now)
            if entry is not None:
                candidates.append((entry, row))
        if not candidates:
            return
        previous = self.guard.read(self.store.previous_many, [e.display for e, _ in candidates])
        for entry, row in candidates:
            work = Work(entry, row=row["id"])
            action, again = self._prepare(work, previous, now)
            if action is Action.LATER:  # still being written: look again later, as a new row
                self._enqueue(Change(row["event"], entry.path, False), again)
                self._done(row["id"])
            elif action is Action.RECORD:
                self._add(work)
            elif action is Action.SCAN:
                self._rows.append(work)
            else:
                self._done(row["id"])

    def _row_entry(self, row: dict, now: float) -> Entry | None:
        """The file a row names, or None when the row was handled here (deleted, directory, ignored)."""
        path = queue_path(row["path"])
        root = self.roots.root_of(path)
        st = lstat(path)
        if root is None or self.roots.is_own(path):
            self._done(row["id"])
        elif st is None:
            if os.path.isdir(root):  # a vanished root is not a deletion: it is swept when it is back
                self.guard.call(self.store.mark_deleted, display_path(path), now)
                self.stats["deleted"] += 1
            self._done(row["id"])
        elif is_dir(st, path, self.roots.options.follow_symlinks):
            if not self.roots.accepts(path, is_dir=True):
                self._done(row["id"])
            elif row["event"] in Pending.RECURSIVE or path == root:
                entries = (e for e in walk([path], self.roots.unfiltered) if self.roots.accepts(e.path))
                self._sweeps.appendleft(Sweep(path, entries, row["id"], row["event"]))
            else:
                self._sweeps.appendleft(Sweep(path, shallow_entries(path, self.roots), row["id"], "modified"))
        elif not self.roots.accepts(path) or (entry := entry_for(path, st, self.roots.options)) is None:
            self._done(row["id"])
        else:
            return entry
        return None

    def _advance(self, sweep: Sweep) -> None:
        now = time.time()
        entries = sweep.chunk()
        if not entries:
            return
        previous = self.guard.read(self.store.previous_many, [e.display for e in entries])
        for entry in entries:
            work = Work(entry, sweep=sweep)
            action, again = self._prepare(work, previous, now)
            if action is Action.LATER:
                folder = os.path.dirname(entry.path)
                sweep.unsettled[folder] = max(again, sweep.unsettled.get(folder, 0.0))
            elif action is not Action.NOTHING:
                sweep.outstanding += 1
                (self._add if action is Action.RECORD else self._swept.append)(work)

    def _prepare(self, work: Work, previous: dict, now: float) -> tuple[Action, float]:
        """Decide about one file: look again later (not settled; with the time), record a ready-made
        result (cannot be read), nothing (unchanged since stored), or scan it."""
        entry = work.entry
        if entry.error or entry.skip_reason:
            status = Status.ERROR if entry.error else Status.SKIPPED
            work.results = [_entry_result(entry, status, entry.error or entry.skip_reason or "")]
            return Action.RECORD, 0.0
        since = self._waiting.setdefault(entry.path, now)
        again = recheck_at(entry.mtime, now, self.settle, since, self.max_wait)
        if again is not None:
            return Action.LATER, again
        self._waiting.pop(entry.path, None)
        stored = previous.get(entry.display)
        if stored is not None and _unchanged(stored, entry, self.versions.detector, self.versions.policy):
            if stored.result.flagged:  # e.g. recorded by `dlpscan scan`: the alert is still owed once
                self.outbox.add(stored.result, version_key(entry))
            self.stats["unchanged"] += 1
            return Action.NOTHING, 0.0
        return Action.SCAN, 0.0

    def _close_sweeps(self) -> None:
        for sweep in [s for s in self._sweeps if s.exhausted and s.outstanding == 0]:
            self._sweeps.remove(sweep)
            for folder, again in sweep.unsettled.items():
                event = sweep.event if folder == sweep.path else "modified"
                self._enqueue(Change(event, folder, True), again)
            if sweep.row is not None:
                self._done(sweep.row)

    # ---- recording ---------------------------------------------------------------------------

    def _add(self, work: Work) -> None:
        if not self._batch:
            self._batch_started = time.monotonic()
        self._batch.append(work)
        for r in work.results:
            self.stats[str(r.status)] += 1
            self.stats["flagged"] += r.flagged and not r.is_container
        if len(self._batch) >= RECORD_BATCH or time.monotonic() - self._batch_started >= RECORD_AGE:
            self.flush()

    def _done(self, row: int) -> None:
        self.guard.call(self.store.done, row)

    def _record(self, results: list[FileResult]) -> None:
        try:
            self.guard.call(self.store.record_results, self.versions.scan_id, results)
        except (ValueError, TypeError) as exc:  # one bad result must not cost the others, nor stop the daemon
            log.error(
                "could not record a batch of results (%s); recording them one by one", type(exc).__name__
            )
            for r in results:
                try:
                    self.guard.call(self.store.record_results, self.versions.scan_id, [r])
                except (ValueError, TypeError) as one:
                    bad = FileResult(
                        r.path, Status.ERROR, size=r.size, mtime=r.mtime, owner=r.owner, inode=r.inode
                    )
                    bad.error = f"internal error while recording: {type(one).__name__}: {str(one)[:200]}"
                    self.guard.call(self.store.record_results, self.versions.scan_id, [bad])
        errors = [r for r in results if r.status is Status.ERROR]
        if errors:
            first = errors[0]
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            self.guard.call(self.store.record_event, "file-error", f"{first.path}: {first.error}{more}")

    def prune(self, now: float) -> None:
        """Forget files that stopped being written long ago without being seen again (deleted ones)."""
        stale = now - 2 * self.max_wait
        for path in [p for p, since in self._waiting.items() if since < stale]:
            del self._waiting[path]
