"""The queue writer: buffered filesystem changes -> coalesced -> durable rows in the store's queue.

An event is acknowledged (dropped from memory) only after its row is committed. Coalescing keeps
the number of transactions proportional to files, not events, and turns a storm of files in one
directory into a single directory row, which the dispatcher sweeps at full scan speed.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable

from dlpscan.store import Store
from dlpscan.watch.observer import Change
from dlpscan.watch.paths import Roots, queue_key
from dlpscan.watch.retry import StoreGuard, StoreUnavailable
from dlpscan.watch.settle import Pending

log = logging.getLogger(__name__)

BATCH_WINDOW = 0.1  # seconds to gather events after the first one, so create/modify/close coalesce
BATCH_MAX = 5_000
DIR_STORM = 8  # this many changed files of one directory in a batch: queue the directory instead


def coalesce(batch: list[Change], roots: Roots) -> list[Change]:
    """The last change per path; deletions below a deleted directory and files below a new
    directory dropped (the directory row covers them); storms folded into their directory."""
    last: dict[str, Change] = {}
    for change in batch:
        if roots.accepts(change.path, change.is_dir):
            last.pop(change.path, None)
            last[change.path] = change
    gone = {c.path for c in last.values() if c.is_dir and c.event == "deleted"}
    new = {c.path for c in last.values() if c.is_dir and c.event != "deleted"}

    def below(path: str, dirs: set[str]) -> bool:
        parent = os.path.dirname(path)
        while parent not in dirs:
            if roots.root_of(parent) is None or parent == os.path.dirname(parent):
                return False
            parent = os.path.dirname(parent)
        return True

    kept = []
    for c in last.values():
        if c.event == "deleted" and gone and below(c.path, gone):
            continue
        if not c.is_dir and c.event != "deleted" and new and below(c.path, new):
            continue
        kept.append(c)
    first_seen: dict[str, float] = {}
    per_dir: Counter[str] = Counter()
    for c in kept:
        if not c.is_dir and c.event != "deleted":
            folder = os.path.dirname(c.path)
            per_dir[folder] += 1
            first_seen[folder] = min(c.seen, first_seen.get(folder, c.seen))
    storms = {d for d, n in per_dir.items() if n >= DIR_STORM and roots.root_of(d) is not None}
    out = [c for c in kept if c.is_dir or c.event == "deleted" or os.path.dirname(c.path) not in storms]
    return out + [Change("modified", d, True, first_seen[d]) for d in sorted(storms)]


class Intake(threading.Thread):
    """Drains the buffer into the store's queue; between batches it checks the watched roots."""

    def __init__(
        self,
        store: Store,
        guard: StoreGuard,
        buffer: queue.Queue[Change],
        pending: Pending,
        settle: Callable[[], float],
        since_margin: float | None,
        on_enqueued: Callable[[float], None],
        housekeeping: Callable[[], None],
        on_lost: Callable[[set[str]], None],
        beat: Callable[[], None],
    ) -> None:
        super().__init__(name="intake", daemon=True)
        self.roots: Roots | None = None
        self._store, self._guard, self._buffer, self._pending = store, guard, buffer, pending
        self._settle, self._on_enqueued = settle, on_enqueued
        self.since_margin = since_margin
        self._housekeeping, self._on_lost, self._beat = housekeeping, on_lost, beat
        self._stop_requested = threading.Event()
        self.events = 0  # events taken from the buffer (metrics)
        self.failure: BaseException | None = None

    def stop(self) -> None:
        """Write what is buffered, then end (join the thread to wait for it)."""
        self._stop_requested.set()

    def enqueue(self, change: Change, not_before: float | None = None) -> None:
        """Write one change durably (also used by the dispatcher and on re-attach)."""
        key = queue_key(change.path)
        if not self._pending.needs_write(key, change.event, change.is_dir):
            return
        if not_before is None:  # counted from the event itself, not from when it got here
            not_before = (change.seen or time.time()) + self._delay(change)
        self._guard.call(self._store.enqueue, key, change.event, not_before)
        known = change.is_dir and change.seen > 0 and self.since_margin is not None
        self._pending.written(key, change.event, change.seen - self.since_margin if known else None)
        self._on_enqueued(not_before)

    def _delay(self, change: Change) -> float:
        return 0.0 if change.event == "deleted" else self._settle()

    def run(self) -> None:
        while True:
            self._beat()
            stopping = self._stop_requested.is_set()
            batch = self._gather(block=not stopping)
            try:
                if batch and self.roots is not None:
                    for change in coalesce(batch, self.roots):
                        self.enqueue(change)
                    self.events += len(batch)
                if not stopping:
                    self._housekeeping()
            except Exception as exc:  # the store gave up (stopping) or a bug: the roots get swept instead
                self.failure = exc
                if isinstance(exc, StoreUnavailable):
                    log.warning("queue writer: the results store is unavailable; the roots are swept instead")
                else:
                    debug = log.isEnabledFor(logging.DEBUG)
                    log.error("queue writer: %s", type(exc).__name__, exc_info=debug)
                if self.roots is not None:
                    self._on_lost({r for c in batch if (r := self.roots.root_of(c.path)) is not None})
                if stopping:
                    return
                time.sleep(1.0)
            if stopping and self._buffer.empty():
                return

    def _gather(self, block: bool) -> list[Change]:
        batch: list[Change] = []
        try:
            batch.append(self._buffer.get(timeout=0.5) if block else self._buffer.get_nowait())
        except queue.Empty:
            return batch
        deadline = time.monotonic() + BATCH_WINDOW
        while len(batch) < BATCH_MAX:
            remaining = deadline - time.monotonic()
            try:
                batch.append(
                    self._buffer.get(timeout=remaining) if remaining > 0 else self._buffer.get_nowait()
                )
            except queue.Empty:
                break
        return batch
