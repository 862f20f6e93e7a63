"""One file in, report lines out: extract -> detect -> aggregate -> policy.

Runs inside worker processes. Every failure becomes a status on a FileResult; nothing here
raises for bad input, and no message carries document content.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from dlpscan.aggregate import DocumentAggregate
from dlpscan.detect.categories import load_categories
from dlpscan.detect.categorise import Categoriser
from dlpscan.detect.engine import Engine
from dlpscan.detect.ocr import OcrTally
from dlpscan.detect.registry import load_definitions
from dlpscan.edm.scan import EdmScanner
from dlpscan.entities import EntityTypes
from dlpscan.extract import open_documents
from dlpscan.extract.errors import ExtractError
from dlpscan.model import Document, FileResult, Status
from dlpscan.policy import Policy, evaluate, load_policy
from dlpscan.settings import ScanSettings, file_sha256

log = logging.getLogger(__name__)


class FileScanner:
    """Built once per worker process: compiled engine, loaded policy."""

    def __init__(self, settings: ScanSettings) -> None:
        self.settings = settings
        self._expired = self._deadline_passed = False
        self.definitions = load_definitions([Path(d) for d in settings.recognizer_dirs])
        types = EntityTypes(d.entity_type for d in self.definitions)
        category_defs = load_categories([Path(d) for d in settings.recognizer_dirs])
        self.categories = {d.category: d.data_category for d in category_defs}
        self.categoriser = Categoriser(category_defs, types, backend=settings.backend)
        # one Hyperscan pass over text for entities and category evidence alike
        self.engine = Engine(
            self.definitions, backend=settings.backend, extra_patterns=self.categoriser.evidence_patterns
        )
        self.policy: Policy = load_policy(
            settings.policy, [Path(d) for d in settings.policy_dirs], types, self.categories
        )
        self.edm = EdmScanner(settings.edm) if settings.edm is not None else None

    def scan_path(
        self,
        path: Path,
        display: str,
        time_limit: float = 0.0,
        skip: frozenset[str] = frozenset(),
        on_document: Callable[[str], None] | None = None,
    ) -> list[FileResult]:
        """Report lines for a file and its members. With `time_limit` (seconds, main thread only)
        reading stops there and what was found so far is reported as `partial`. Documents in
        `skip` killed a worker before: they get an error line and are not read again.
        `on_document` hears each document's path before it is read."""
        results: list[FileResult] = []
        self._expired = self._deadline_passed = False
        try:
            with _alarm(time_limit, self._deadline):
                for document in open_documents(path, display, self.settings.limits):
                    if document.path in skip:
                        results.append(FileResult(document.path, Status.ERROR, error=_KILLED_WORKER))
                        continue
                    if on_document is not None:
                        on_document(document.path)
                    results.append(self.scan_document(document))
                    if self._expired:
                        break
        except FileDeadline:
            self._expired = True
        except Exception as exc:  # an extractor bug must not stop the scan; the type name only
            log.warning("internal error reading a file: %s", type(exc).__name__)
            results.append(
                FileResult(display, Status.ERROR, error=f"internal error while reading: {type(exc).__name__}")
            )
        if self._expired:
            _mark_expired(results, display, time_limit)
        if self.settings.content_hash and results and results[0].path == display:
            results[0].content_hash = file_sha256(path)
        return results

    def _deadline(self) -> None:
        self._deadline_passed = True

    def scan_document(self, document: Document) -> FileResult:
        result = FileResult(
            document.path,
            document.status,
            media_type=document.media_type,
            size=document.size,
            is_container=document.is_container,
        )
        if document.status is not Status.SCANNED:
            _set_reason(result, document.status, document.reason or "unreadable")
            return result
        aggregate = DocumentAggregate(self.definitions, self.settings.key, self.categoriser, self.categories)
        ocr = OcrTally(self.definitions)
        evidence = self.edm.collector() if self.edm is not None else None
        blocks_read = 0
        try:
            for block in document.blocks:
                if self._deadline_passed:  # the alarm's exception was swallowed
                    raise FileDeadline  # (e.g. by a finalizer that ran when it fired): stop here
                with _collector_paused():
                    found, evidence_candidates = self.engine.scan_block(block)
                    findings = ocr.filter(block, found)
                    aggregate.add_block(findings, block, evidence_candidates)
                    if evidence is not None:
                        evidence.add_block(findings, block)
                blocks_read += 1
        except ExtractError as exc:
            _set_stopped(result, exc.status, str(exc) or type(exc).__name__, blocks_read)
        except MemoryError:
            _set_stopped(result, Status.ERROR, "memory limit exceeded", blocks_read)
        except FileDeadline:
            self._expired = True
            _set_stopped(result, Status.SKIPPED, _TIME_LIMIT, blocks_read)
        except Exception as exc:
            log.warning("internal error in %s: %s", document.media_type, type(exc).__name__)
            _set_reason(result, Status.ERROR, f"internal error while reading: {type(exc).__name__}")
        with _collector_paused():
            result.entities = aggregate.entities(with_fingerprints=True)
        result.masked = aggregate.masked()
        result.records = aggregate.records
        result.categories = aggregate.categories()
        result.notes = {**document.notes, **aggregate.final_notes(), **ocr.notes()}
        if evidence is not None and self.edm is not None and not document.is_container:
            result.edm = self.edm.finish(evidence)
        if not document.is_container:
            result.flagged, result.severity, result.rules = evaluate(self.policy, result)
        return result


class FileDeadline(BaseException):
    """The per-file time limit expired: stop reading this file and report what was found.

    A BaseException, so that libraries' `except Exception` blocks do not swallow it."""


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Detection and aggregation make many small objects and no reference cycles: the cyclic
    collector, run every 700 allocations, only re-walks the block's rows and findings (about a
    quarter of a dense table's time). It runs again, as usual, once the block is counted."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


_TIME_LIMIT = "per-file time limit reached"
_KILLED_WORKER = "reading this document killed a worker process (native crash or memory cap); not read again"


@contextlib.contextmanager
def _alarm(seconds: float, passed: Callable[[], None] = lambda: None) -> Iterator[None]:
    """Raise FileDeadline in this thread after `seconds` (no limit when 0 or off the main thread).

    `passed` is called first: an exception raised while a finalizer (`__del__`) runs is printed and
    dropped by Python, so the reader also checks between blocks whether the deadline passed."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame) -> None:
        passed()
        raise FileDeadline

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _mark_expired(results: list[FileResult], display: str, seconds: float) -> None:
    """The file (or the archive whose members were being read) is only partly read."""
    reason = f"{_TIME_LIMIT} ({seconds:g} s); what was read before is reported"
    if not results:
        results.append(FileResult(display, Status.SKIPPED, reason=reason))
    elif results[0].status in (Status.SCANNED, Status.PARTIAL):
        results[0].status, results[0].reason = Status.PARTIAL, reason


def _set_stopped(result: FileResult, status: Status, reason: str, blocks_read: int) -> None:
    """Reading stopped at a limit or a broken part: `partial` when something was read before it."""
    if blocks_read and status is not Status.ENCRYPTED:
        _set_reason(result, Status.PARTIAL, f"{reason}; what was read before is reported")
    else:
        _set_reason(result, status, reason)


def _set_reason(result: FileResult, status: Status, reason: str) -> None:
    result.status = status
    if status is Status.ERROR:
        result.error = reason
    else:
        result.reason = reason
