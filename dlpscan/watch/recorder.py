"""Recording finished files on a thread of its own, so the workers never wait for the database.

For each batch, in this order (every step can be redone after kill -9): alerts into the outbox,
results into the store (one transaction, by the recorder `dlpscan scan` uses: a result the store
refuses is stored as an error line and logged, the others are stored), then the queue rows removed.
The inbox is bounded: when the store is slow or down, the dispatcher waits instead of piling results
up in memory.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from dlpscan.model import FileResult, Status
from dlpscan.runner.storing import ResultRecorder
from dlpscan.store import Store
from dlpscan.watch.alerts import AlertOutbox
from dlpscan.watch.retry import StoreGuard, StoreUnavailable

if TYPE_CHECKING:
    from dlpscan.watch.dispatch import Work

log = logging.getLogger(__name__)

RECORD_BATCH = 200  # results per store transaction at most
RECORD_WAIT = 0.2  # seconds to gather more files into a transaction (each costs milliseconds of CPU)
BACKLOG = 2_000  # files waiting to be recorded before the dispatcher waits


class Recorder(threading.Thread):
    """`beat` is called while the thread waits for work; the callers of `submit` and `drain` pass the
    beat of their own thread, since both may wait for a slow store."""

    def __init__(
        self, store: Store, guard: StoreGuard, outbox: AlertOutbox, beat: Callable[[], None]
    ) -> None:
        super().__init__(name="recorder", daemon=True)
        self.store, self.guard, self.outbox, self._beat = store, guard, outbox, beat
        self._inbox: queue.Queue[Work | None] = queue.Queue(maxsize=BACKLOG)
        self._recorded: deque[Work] = deque()
        self._unfinished = 0
        self._idle = threading.Condition()
        self.failure: StoreUnavailable | None = None
        self._results = ResultRecorder(store, guard.call, (StoreUnavailable,), self._refused)

    def _refused(self, path: str, why: str) -> None:
        message = f"{path}: the results store refused it ({why})"
        self.guard.call(self.store.record_event, "file-error", message)

    def submit(self, work: Work, beat: Callable[[], None]) -> None:
        with self._idle:
            self._unfinished += 1
        while True:
            try:
                self._inbox.put(work, timeout=1.0)
                return
            except queue.Full:
                beat()

    def drain(self, beat: Callable[[], None]) -> None:
        """Wait until everything submitted so far is recorded."""
        with self._idle:
            while self._unfinished:
                self._idle.wait(1.0)
                beat()
        if self.failure is not None:
            raise self.failure

    def recorded(self) -> list[Work]:
        """Files recorded since the last call (`work.recorded` False: recording failed)."""
        out = []
        while self._recorded:
            out.append(self._recorded.popleft())
        return out

    def stop(self) -> None:
        self._inbox.put(None)

    def run(self) -> None:
        while True:
            batch = self._gather()
            works = [w for w in batch if w is not None]
            try:
                if works and self.failure is None:
                    self._record(works)
            except StoreUnavailable as exc:  # stopping with the store down: rows stay queued for next time
                self.failure = exc
            except Exception as exc:  # a bug: rows stay 'working' until the next start queues them again
                log.error(
                    "recording results: %s", type(exc).__name__, exc_info=log.isEnabledFor(logging.DEBUG)
                )
                for w in works:
                    w.recorded = False
            self._recorded.extend(works)
            with self._idle:
                self._unfinished -= len(works)
                self._idle.notify_all()
            if None in batch:
                return

    def _gather(self) -> list[Work | None]:
        while True:
            self._beat()
            try:
                batch = [self._inbox.get(timeout=1.0)]
                break
            except queue.Empty:
                continue
        # a lone file is recorded at once; when more are coming, they share one transaction
        deadline = time.monotonic() + (RECORD_WAIT if not self._inbox.empty() else 0.0)
        while batch[-1] is not None and len(batch) < RECORD_BATCH:
            try:
                batch.append(self._inbox.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                break
        return batch

    def _record(self, works: list[Work]) -> None:
        for w in works:
            if w.alert is not None:
                for r in w.results:
                    if r.flagged and not r.is_container:
                        self.outbox.add(r, w.alert)
        by_scan: dict[int, list[FileResult]] = {}
        for w in works:
            by_scan.setdefault(w.scan_id, []).extend(w.results)
        for scan_id, results in by_scan.items():
            self._record_results(scan_id, results)
        for w in works:
            if w.row is not None:
                self.guard.call(self.store.done, w.row)

    def _record_results(self, scan_id: int, results: list[FileResult]) -> None:
        errors = [r for r in results if r.status is Status.ERROR]
        self._results.record(scan_id, list(results))
        if errors:
            first = errors[0]
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            self.guard.call(self.store.record_event, "file-error", f"{first.path}: {first.error}{more}")
