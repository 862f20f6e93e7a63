"""Queue rows and sweeps -> settled, changed files -> WorkerPool tasks -> the recorder.

`tasks()` is the generator handed to `WorkerPool.run`; `handle()` takes each result and passes it to
the recorder thread (alerts, results, queue rows). Live queue rows come first, then sweeps (the
catch-up pass over the roots, and directories: new, moved in, or a storm of files folded into one row).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from dlpscan.access import rank
from dlpscan.model import FileResult, Status
from dlpscan.policy import Policy
from dlpscan.runner import assess, entry_result, keyed, reassessed, reported, stamp, unchanged
from dlpscan.runner.refresh import CARRY, READ, REFRESHED, EdmRefresh
from dlpscan.store import Store, StoredFile
from dlpscan.walk import Entry, display_path, root_key, store_key, walk
from dlpscan.watch.alerts import AlertOutbox
from dlpscan.watch.observer import Change
from dlpscan.watch.paths import Roots, entry_for, is_dir, lstat, queue_path, same_version, version_key
from dlpscan.watch.recorder import Recorder
from dlpscan.watch.retry import StoreGuard
from dlpscan.watch.settle import Pending, recheck_at
from dlpscan.workers import Task

log = logging.getLogger(__name__)

CHUNK = 500  # sweep entries compared with the store per query batch
QUEUE_POLL = 1.0  # seconds between queue polls when nothing announced new rows
PREP_BUDGET = 0.5  # seconds of preparation before in-flight results are collected
PROBE_WAIT = 0.05  # seconds to wait for new work before letting the pool collect results
KNOWN_LIMIT = 200_000  # file versions remembered as handled (about 34 MB)


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
    content_hash: bool = False  # `unchanged` also compares a SHA-256 of the file
    refresh: EdmRefresh | None = field(default=None, compare=False)  # a rebuilt EDM index (runner.refresh)
    rules: Policy | None = None  # the policy itself: decisions that depend on who can read a file
    stale_days: int = 365


class Sweep:
    """Files under a directory (recursive) or in it (shallow), taken in chunks."""

    def __init__(self, path: str, entries: Iterator[Entry], row: int | None) -> None:
        self.path, self.row = path, row
        self._entries = entries
        self.outstanding = 0
        self.exhausted = False
        self.failed = False  # a file could not be recorded: keep the row for the next start
        self.unsettled: dict[str, tuple[float, float]] = {}  # directory -> (look again at, oldest mtime)

    def chunk(self) -> list[Entry]:
        out = list(itertools.islice(self._entries, CHUNK))
        self.exhausted = len(out) < CHUNK
        return out


@dataclass
class Work:
    entry: Entry
    row: int | None = None  # the queue row to remove once recorded
    sweep: Sweep | None = None
    results: list[FileResult] = field(default_factory=list)
    carried: bool = False  # `results` are stored ones whose exposure changed: not read again
    scan_id: int = 0
    alert: str | None = None  # the file version to alert on, if a result is flagged
    recorded: bool = True


class Handled:
    """File versions this process is reading or has recorded, so a sweep skips them without a store
    lookup. The newest KNOWN_LIMIT are kept, each as two hashes (the path's and the version's): a
    storm's worth of paths and tuples held as such would take twice the memory."""

    def __init__(self, limit: int = KNOWN_LIMIT) -> None:
        self._versions: OrderedDict[int, int] = OrderedDict()
        self._limit = limit

    @staticmethod
    def _key(entry: Entry) -> tuple[int, int]:
        return hash(entry.display), hash((entry.size, entry.mtime, entry.inode, entry.access))  # chmod: new

    def __contains__(self, entry: Entry) -> bool:
        path, version = self._key(entry)
        return self._versions.get(path) == version

    def add(self, entry: Entry) -> None:
        path, version = self._key(entry)
        self._versions[path] = version
        self._versions.move_to_end(path)
        if len(self._versions) > self._limit:
            self._versions.popitem(last=False)

    def discard(self, entry: Entry) -> None:
        if entry in self:
            del self._versions[hash(entry.display)]

    def clear(self) -> None:
        self._versions.clear()

    def __len__(self) -> int:
        return len(self._versions)


def _newly_exposed(before: FileResult, now: FileResult) -> bool:
    """A flagged file that was not flagged, or is now readable more widely than before (files stored
    before exposure was known do not alert again for it)."""
    if not now.flagged or now.is_container:
        return False
    if not before.flagged:
        return True
    was, is_ = before.access, now.access
    return was is not None and is_ is not None and rank(is_.level) > rank(was.level)


def shallow_entries(directory: str, roots: Roots, since: float | None) -> Iterator[Entry]:
    """The files directly in `directory` (not below it), as the walk would report them; with `since`,
    only those whose inode changed since then (ctime: written, renamed in, chmod-ed)."""
    try:
        with os.scandir(directory) as it:
            names = sorted(e.path for e in it)
    except OSError as exc:
        error = f"cannot list directory: {exc.strerror}"
        yield Entry(directory, display_path(directory), store_key(directory), error=error)
        return
    for path in names:
        st = lstat(path)
        if st is None or (since is not None and st.st_ctime < since):
            continue
        if is_dir(st, path, roots.options.follow_symlinks) or not roots.accepts(path):
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
        recorder: Recorder,
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
        self.outbox, self.recorder, self.pending, self._enqueue = outbox, recorder, pending, enqueue
        self.settle, self.max_wait = settle
        self.batch_size = batch_size
        self._interrupted, self._wake, self._probe, self._beat = interrupted, wake, probe, beat
        self._probes: set[int] = set()
        self._ids = itertools.count()
        self._rows: deque[Work] = deque()
        self._swept: deque[Work] = deque()
        self._sweeps: deque[Sweep] = deque()
        self._gone: deque[tuple[str, str]] = (
            deque()
        )  # swept folders to compare with the store: (folder, after)
        self._inflight: dict[int, Work] = {}
        self._waiting: dict[str, float] = {}  # path -> first seen unsettled
        # path -> the version this process is reading or has recorded: a sweep skips it without a lookup
        self._known = Handled()
        self._pruned = time.time()
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

    def _next_wake(self) -> float:
        """When there may be work again (absolute time)."""
        with self._hints_lock:
            soonest = self._hints[0] if self._hints else float("inf")
        return min(soonest, self._last_poll + QUEUE_POLL)

    def new_versions(self, versions: Versions) -> None:
        """A new policy or recognizers: what was read before counts as unread."""
        self.versions = versions
        self._known.clear()

    def sweep_root(self, root: str) -> None:
        """Compare everything under a root with the store (catch-up pass); its globs are the scan's."""
        entries = (e for e in walk([root], self.roots.options) if not self.roots.is_own(e.path))
        self._sweeps.append(Sweep(root, entries, None))
        self._gone.append((root, ""))

    def tasks(self) -> Iterator[Task]:
        """The generator for `WorkerPool.run`: it ends only when the daemon stops or reloads.

        The pool collects results only when it asks for the next task; so while files are in flight
        and nothing else is to be done, an empty probe file is handed out every PROBE_WAIT seconds.
        """
        yield self._probe_task()  # the pool starts its workers with the first task: start them now
        while not self._interrupted():
            work = self._next()
            if work is None:
                if self._inflight and not self._interrupted():
                    yield self._probe_task()
                continue
            task = Task(next(self._ids), work.entry.path, work.entry.display)
            self._inflight[task.task_id] = work
            yield task

    def _probe_task(self) -> Task:
        task = Task(next(self._ids), str(self._probe), "(probe)")
        self._probes.add(task.task_id)
        return task

    def handle(self, task: Task, results: list[FileResult]) -> None:
        if task.task_id in self._probes:
            self._probes.discard(task.task_id)
            return
        work = self._inflight.pop(task.task_id)
        stamp(results, work.entry)
        self._assess(results)
        if same_version(work.entry, self.roots.options.follow_symlinks):
            work.alert = version_key(work.entry)
        else:  # changed while it was read: the result is kept, the alert waits for a settled version
            self._enqueue(Change("modified", work.entry.path, False), None)
            self.stats["changed_while_read"] += 1
        for r in results:
            log.debug("scanned %s: %s%s", r.path, r.status, " flagged " + r.severity if r.flagged else "")
        work.results = keyed(results, work.entry)
        self._submit(work)

    def requeue_inflight(self) -> None:
        """The pool was lost with files in flight (an internal error): hand them out again."""
        for work in self._inflight.values():
            (self._rows if work.sweep is None else self._swept).append(work)
        self._inflight.clear()
        self._probes.clear()

    def flush(self) -> None:
        """Wait until every finished file is recorded (before a stop or a reload)."""
        self.recorder.drain(self._beat)
        self._collect()

    def _collect(self) -> None:
        """Bookkeeping for files the recorder has recorded; close the sweeps they finish."""
        for w in self.recorder.recorded():
            if not w.recorded:
                self._known.discard(w.entry)
            if w.sweep is not None:
                w.sweep.outstanding -= 1
                w.sweep.failed |= not w.recorded
        self._close_sweeps()

    # ---- choosing the next file --------------------------------------------------------------

    def _next(self) -> Work | None:
        """The next file to scan, or None to let the pool hand back results of files in flight."""
        started = time.monotonic()
        while not self._interrupted():
            self._beat()
            self._collect()
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
            if self._gone:
                self._mark_gone()
                continue
            self._prune()
            if self._inflight:
                self._wait(PROBE_WAIT)
                return None
            self._wait(max(0.0, min(self._next_wake() - time.time(), QUEUE_POLL)))
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
            entry = self._row_entry(row, self.pending.claimed(row["path"]), now)
            if entry is not None:
                candidates.append((entry, row))
        if not candidates:
            return
        previous = self._lookup([e for e, _ in candidates])
        for entry, row in candidates:
            work = Work(entry, row=row["id"])
            action, again = self._prepare(work, previous, now)
            if action is Action.LATER:  # still being written: look again later, as a new row
                self._enqueue(Change(row["event"], entry.path, False), again)
                self._done(row["id"])
            elif action is Action.RECORD:
                self._submit(work)
            elif action is Action.SCAN:
                self._rows.append(work)
            else:
                self._done(row["id"])

    def _row_entry(self, row: dict, since: float | None, now: float) -> Entry | None:
        """The file a row names, or None when the row was handled here (deleted, directory, ignored)."""
        path = queue_path(row["path"])
        root = self.roots.root_of(path)
        st = lstat(path)
        if root is None or self.roots.is_own(path):
            self._done(row["id"])
        elif st is None:
            if os.path.isdir(root):  # a vanished root is not a deletion: it is swept when it is back
                self.guard.call(self.store.mark_deleted, store_key(path), now)
                self.stats["deleted"] += 1
            self._done(row["id"])
        elif is_dir(st, path, self.roots.options.follow_symlinks):
            if not self.roots.accepts(path, is_dir=True):
                self._done(row["id"])
            elif row["event"] in Pending.RECURSIVE:
                entries = (e for e in walk([path], self.roots.unfiltered) if self.roots.accepts(e.path))
                self._sweeps.appendleft(Sweep(path, entries, row["id"]))
                self._gone.append((path, ""))
            else:
                entries = shallow_entries(path, self.roots, since)
                self._sweeps.appendleft(Sweep(path, entries, row["id"]))
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
        previous = self._lookup(entries)
        for entry in entries:
            work = Work(entry, sweep=sweep)
            action, again = self._prepare(work, previous, now)
            if action is Action.LATER:
                folder = os.path.dirname(entry.path)
                later, oldest = sweep.unsettled.get(folder, (again, entry.mtime))
                sweep.unsettled[folder] = (max(later, again), min(oldest, entry.mtime))
            elif action is not Action.NOTHING:
                sweep.outstanding += 1
                (self._submit if action is Action.RECORD else self._swept.append)(work)

    def _mark_gone(self) -> None:
        """One page of the files the store holds as present below a swept folder: those no longer on
        disk (a root deleted and re-created, files deleted while the daemon was stopped) are marked
        deleted. A folder that is gone itself is left alone: a vanished root is not a deletion."""
        folder, after = self._gone.popleft()
        if not os.path.isdir(folder):
            return
        page = self.guard.read(self.store.present_under, root_key(folder), after, CHUNK)
        if len(page) == CHUNK:
            self._gone.appendleft((folder, page[-1][0]))
        gone = [(path, container) for path, container in page if lstat(path) is None]
        if gone:
            self.guard.call(self.store.mark_gone, gone, time.time())
            self.stats["deleted"] += len(gone)

    def _lookup(self, entries: list[Entry]) -> dict[str, StoredFile]:
        """Stored state of the entries this process has not handled in their current version."""
        paths = [e.key for e in entries if e not in self._known]
        return self.guard.read(self.store.previous_many, paths) if paths else {}

    def _prepare(self, work: Work, previous: dict, now: float) -> tuple[Action, float]:
        """Decide about one file: look again later (not settled; with the time), record a ready-made
        result (cannot be read), nothing (unchanged since stored), or scan it."""
        entry = work.entry
        if entry.error or entry.skip_reason:
            status = Status.ERROR if entry.error else Status.SKIPPED
            line = entry_result(entry, status, entry.error or entry.skip_reason or "")
            self._assess([line])
            work.results = keyed([line], entry)
            return Action.RECORD, 0.0
        since = self._waiting.setdefault(entry.path, now)
        again = recheck_at(entry.mtime, now, self.settle, since, self.max_wait)
        if again is not None:
            return Action.LATER, again
        self._waiting.pop(entry.path, None)
        if entry in self._known:  # read already (an event and a sweep)
            self.stats["unchanged"] += 1
            return Action.NOTHING, 0.0
        stored = previous.get(entry.key)
        v = self.versions
        outcome = READ
        if stored is not None and unchanged(stored, entry, v.detector, v.policy, v.content_hash):
            outcome = v.refresh.check(stored) if v.refresh is not None else CARRY
        self._known.add(entry)
        if stored is None or outcome == READ:
            return Action.SCAN, 0.0
        self.stats["unchanged"] += 1
        lines = reported(stored, entry)
        self._assess(lines)
        if outcome == REFRESHED:  # matched again with a rebuilt EDM index (runner.refresh), not read
            work.results = keyed(lines, entry)
            return Action.RECORD, 0.0
        if reassessed(stored, lines):  # a chmod, a setfacl: who can read it changed, not its content
            self.stats["reassessed"] += 1
            work.results, work.carried = keyed(lines, entry), True
            if _newly_exposed(stored.result, lines[0]):
                work.alert = f"{version_key(entry)}:{lines[0].access.level if lines[0].access else ''}"
            return Action.RECORD, 0.0
        if stored.result.flagged:  # e.g. recorded by `dlpscan scan`: the alert is still owed once
            self.outbox.owe(stored.result, version_key(entry))
        return Action.NOTHING, 0.0

    def _close_sweeps(self) -> None:
        for sweep in [s for s in self._sweeps if s.exhausted and s.outstanding == 0]:
            self._sweeps.remove(sweep)
            for folder, (again, oldest) in sweep.unsettled.items():  # the files still being written
                self._enqueue(Change("modified", folder, True, oldest), again)
            if sweep.row is not None and not sweep.failed:
                self._done(sweep.row)

    # ---- recording ---------------------------------------------------------------------------

    def _submit(self, work: Work) -> None:
        work.scan_id = self.versions.scan_id
        for r in work.results:
            self.stats[str(r.status)] += 1
            self.stats["flagged"] += r.flagged and not r.is_container
        self.recorder.submit(work, self._beat)

    def _assess(self, results: list[FileResult]) -> None:
        if self.versions.rules is not None:
            assess(results, self.versions.rules, self.versions.stale_days, time.time())

    def _done(self, row: int) -> None:
        self.guard.call(self.store.done, row)

    def _prune(self) -> None:
        """Forget unsettled files not seen again for long (deleted while being written)."""
        now = time.time()
        if now - self._pruned < self.max_wait:
            return
        self._pruned = now
        for path in [p for p, since in self._waiting.items() if since < now - 2 * self.max_wait]:
            del self._waiting[path]
