"""Putting results into the store: the one recorder `dlpscan scan` and `dlpscan watch` share.

A batch is one transaction. A batch the store refuses (a result it cannot take, e.g. one the codec
rejects; not an outage) is stored file by file, so one bad result costs neither the others nor a
retry of the whole batch: the refused result is replaced by an error line that says so, and the
caller is told its path and why. Outages (`store.db.TRANSIENT`, and whatever the caller's `call`
raises when it gives up waiting) are left to the caller, which knows whether to keep results and
retry (the scan) or to wait them out (the daemon).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from dlpscan.model import FileResult, Status
from dlpscan.store import Store
from dlpscan.store.db import TRANSIENT, describe

log = logging.getLogger(__name__)


def _direct(fn: Callable[..., Any], *args: object) -> Any:
    return fn(*args)


def stand_in(result: FileResult, why: str) -> FileResult:
    """The error line stored in place of a result the store refused (the file's facts, no findings)."""
    line = FileResult(result.path, Status.ERROR, size=result.size, mtime=result.mtime, owner=result.owner)
    line.inode, line.device = result.inode, result.device
    line.error = f"the results store refused this file's result ({why})"
    return line


class ResultRecorder:
    """Stores results of a scan (or a watch session) in batches; see the module docstring.

    `call(fn, *args)` runs each store call (the daemon passes its StoreGuard, which waits out
    outages); `outages` are the exceptions, besides TRANSIENT, that mean "the store is down";
    `on_refused(path, why)` hears of every result the store refused.
    """

    def __init__(
        self,
        store: Store,
        call: Callable[..., Any] = _direct,
        outages: tuple[type[BaseException], ...] = (),
        on_refused: Callable[[str, str], None] = lambda path, why: None,
    ) -> None:
        self.store, self._call, self._on_refused = store, call, on_refused
        self._outages = TRANSIENT + outages

    def record(self, scan_id: int, results: list[FileResult]) -> None:
        """Store `results`, consuming the list: on an outage it still holds exactly the results not
        stored yet (so the caller can keep them for later), and the outage is raised."""
        if not results:
            return
        try:
            self._call(self.store.record_results, scan_id, results)
        except self._outages:
            raise
        except Exception as exc:
            log.error("the results store refused a batch (%s); storing its files one by one", describe(exc))
            self._one_by_one(scan_id, results)
        results.clear()

    def _one_by_one(self, scan_id: int, results: list[FileResult]) -> None:
        for n, result in enumerate(results):
            try:
                self._call(self.store.record_results, scan_id, [result])
            except self._outages:
                del results[:n]  # the rest waits for the store to come back
                raise
            except Exception as exc:
                why = describe(exc)
                log.error("cannot store the result of %s: %s", result.path, why)
                self._on_refused(result.path, why)
                results[n] = stand_in(result, why)
                try:
                    self._call(self.store.record_results, scan_id, [results[n]])
                except self._outages:
                    del results[:n]  # the stand-in waits with the rest
                    raise
                except Exception as lost:  # the report line is complete; the store only misses this file
                    log.debug("cannot store a stand-in for %s: %s", result.path, describe(lost))
