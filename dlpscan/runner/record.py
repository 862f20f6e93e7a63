"""The batch scan's results: counted, written to the report, stored in batches (one transaction each).

The store never stops a scan. Results are stored by the recorder the watch daemon uses too
(`storing.ResultRecorder`): a result the store refuses is reported, and costs neither the others
nor a retry of the whole batch after every later file. While the store is unavailable (a full disk,
a database restarting) results wait, retried with backoff, up to MAX_PENDING of them; the report
keeps every line, and the scan ends with exit 3.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from dlpscan.entities import EntityTypes
from dlpscan.model import FileResult
from dlpscan.runner.lines import keyed
from dlpscan.runner.people import PeopleCount
from dlpscan.runner.storing import ResultRecorder
from dlpscan.sinks.files import ReportWriter
from dlpscan.store import Store, StoredFile
from dlpscan.store.db import TRANSIENT, describe
from dlpscan.walk import Entry

log = logging.getLogger(__name__)
STORE_BATCH = 200
MAX_PENDING = 20 * STORE_BATCH  # results kept for a store that is down; older ones are given up
RETRY_MAX = 60.0  # seconds between attempts while the store stays unavailable
FINAL_RETRIES = (0.5, 2.0, 5.0)  # seconds between the last attempts to store pending results


@dataclass
class ScanSummary:
    scan_id: int | None = None
    files: int = 0
    bytes: int = 0
    flagged: int = 0
    unchanged: int = 0
    edm_refreshed: int = 0  # of the unchanged: matched again with a rebuilt EDM index, not read
    reassessed: int = 0  # of the unchanged: exposure, risk or staleness changed (stored, not read)
    statuses: Counter[str] = field(default_factory=Counter)
    severities: Counter[str] = field(default_factory=Counter)
    interrupted: bool = False
    seconds: float = 0.0
    # Set by a background count of the roots (for an ETA) once that walk has finished.
    total_files: int | None = None
    total_bytes: int | None = None
    store_error: str | None = None  # the results store could not be written (the report is complete)
    unstored: list[str] = field(default_factory=list)  # "path: why" of results the store refused
    given_up: int = 0  # results dropped while the store was unavailable (over MAX_PENDING)


class Recorder:
    """Counts results, writes report lines, stores results."""

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
        self.pending: list[FileResult] = []
        self.carried: list[str] = []
        self.rewritten: list[FileResult] = []  # stored results whose exposure changed, not re-read
        self._failures = 0  # consecutive attempts that found the store unavailable
        self._retry_at = 0.0
        self._storer = None if store is None else ResultRecorder(store, on_refused=self._refused)
        self._people = PeopleCount(store.types if store is not None else EntityTypes(()))

    @property
    def storing(self) -> bool:
        return self.store is not None and self.scan_id is not None

    def results(self, results: list[FileResult], entry: Entry) -> None:
        """Lines of a file read now (paths as reached from the root)."""
        for r in results:
            self._count(r)
        if self.storing:
            self._people.add(results)
            self.pending.extend(keyed(results, entry))
            self._due()
        self._progress()

    def carried_forward(
        self, stored: StoredFile, entry: Entry, lines: list[FileResult], changed: bool
    ) -> None:
        """An unchanged file (with its archive members): its stored `lines` are reported again, unread.
        `changed`: their exposure, risk or staleness is new, so the store takes them again."""
        self.summary.unchanged += 1
        self.summary.reassessed += changed
        self._people.give_up()  # its fingerprints are in the store only
        for r in lines:
            self._count(r)
        if self.storing:
            if changed:
                self.rewritten.extend(keyed(lines, entry))
            else:
                self.carried += [stored.path, *(m.path for m in stored.members)]
            self._due()
        self._progress()

    def refreshed(self, lines: list[FileResult], entry: Entry) -> None:
        """An unchanged file matched again with a rebuilt EDM index (`runner.refresh`): its `lines`
        are reported and stored anew, not read."""
        self.summary.unchanged += 1
        self.summary.edm_refreshed += 1
        self._people.give_up()
        for r in lines:
            self._count(r)
        if self.storing:
            self.pending.extend(keyed(lines, entry))
            self._due()
        self._progress()

    def resumed(self, lines: list[FileResult], carried: bool) -> None:
        """A file the interrupted part of this scan recorded: reported and counted, stored already."""
        self.summary.unchanged += carried
        self._people.give_up()
        for r in lines:
            self._count(r)
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

    def _due(self) -> None:
        waiting = len(self.pending) + len(self.carried) + len(self.rewritten)
        if waiting >= STORE_BATCH and time.monotonic() >= self._retry_at:
            self.flush()

    def flush(self) -> None:
        """Store what is pending; a store that is unavailable is tried again later."""
        if not self.storing:
            return
        try:
            self._record_pending()
            if self.rewritten:
                self._record_rewritten()
            if self.carried:
                assert self.store is not None and self.scan_id is not None
                self.store.carry_forward(self.scan_id, self.carried)
                self.carried.clear()
        except TRANSIENT as exc:
            self._unavailable(exc)
            return
        if self.summary.store_error is not None:
            log.warning("results store is writable again; pending results were stored")
        self.summary.store_error, self._failures, self._retry_at = None, 0, 0.0

    def _record_pending(self) -> None:
        assert self.scan_id is not None and self._storer is not None
        self._storer.record(self.scan_id, self.pending)

    def _record_rewritten(self) -> None:
        """Store unchanged files whose exposure changed; if the store refuses, carry them forward."""
        assert self.store is not None and self.scan_id is not None
        try:
            self.store.reassess(self.scan_id, self.rewritten)
        except TRANSIENT:
            raise
        except Exception as exc:
            log.error("the results store refused changed exposures (%s); kept as they were", describe(exc))
            self.carried += [r.path for r in self.rewritten]
        self.rewritten.clear()

    def _refused(self, path: str, why: str) -> None:
        self.summary.unstored.append(f"{path}: {why}")
        self._people.give_up()

    def _unavailable(self, exc: BaseException) -> None:
        if self.summary.store_error is None:
            log.error(
                "cannot write to the results store (%s); the report is complete, results are kept "
                "and retried",
                describe(exc),
            )
        self.summary.store_error = type(exc).__name__
        self._failures += 1
        self._retry_at = time.monotonic() + min(RETRY_MAX, 2.0 ** (self._failures - 1))
        for waiting in (self.pending, self.carried, self.rewritten):
            over = len(waiting) - MAX_PENDING
            if over > 0:
                del waiting[:over]
                self.summary.given_up += over

    def finish(self, status: str, stats: dict) -> None:
        """Store what is pending, retrying a few times (a database restarting, space freed), and close
        the scan."""
        self.flush()
        for delay in FINAL_RETRIES:
            if self.summary.store_error is None:
                break
            time.sleep(delay)
            self.flush()
        if not self.storing:
            return
        assert self.store is not None and self.scan_id is not None
        try:
            failed = self.summary.store_error is not None or self.summary.given_up > 0
            people = None if failed else self._people.total()
            self.store.finish_scan(
                self.scan_id, status="failed" if failed else status, stats=stats, people=people
            )
        except Exception as exc:
            self.summary.store_error = type(exc).__name__
