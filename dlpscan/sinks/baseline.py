"""Only what is new since a baseline scan, as detect-secrets and gitleaks users expect.

A result is `new` when the baseline scan did not see the file or the file now has a type it did not
have, `updated` when a type has more distinct values or (fingerprints at hand on both sides) values
the baseline did not have; anything else is old news and is not reported. Compared while the scan
runs, before the result replaces the stored one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from dlpscan.model import FileResult
from dlpscan.sinks.files import ReportWriter
from dlpscan.store import Store


class Baseline:
    def __init__(self, store: Store, scan_id: int | None, key: Callable[[str], str] = str) -> None:
        """`scan_id` None: no baseline yet, every finding is new."""
        self.scan_id = scan_id
        self._store, self._key = store, key
        self._distinct = store.baseline_counts(scan_id) if scan_id is not None else {}
        self._last: tuple[FileResult, str | None] | None = None
        self.reported = 0  # files with new or more findings
        self.flagged = 0  # of which flagged

    def state(self, result: FileResult) -> str | None:
        """`new`, `updated`, or None when nothing is new (SARIF's baselineState words)."""
        if self._last is not None and self._last[0] is result:
            return self._last[1]
        state = self._compare(result)
        self._last = (result, state)
        return state

    def _compare(self, result: FileResult) -> str | None:
        if not result.entities or result.is_container:
            return None
        key = self._key(result.path)
        before = self._distinct.get(key)
        if before is None or any(t not in before for t in result.entities):
            return "new"
        if any(s.distinct > before[t] for t, s in result.entities.items()):
            return "updated"
        if not any(s.fingerprints for s in result.entities.values()):
            return None
        known = self._store.baseline_fingerprints(key, self.scan_id)
        if known is None:  # recorded again since the baseline: only the counts compare
            return None
        fresh = any(set(s.fingerprints or ()) - known.get(t, set()) for t, s in result.entities.items())
        return "updated" if fresh else None


class NewOnlyWriter:
    """Passes on only the results whose findings are new or grew since the baseline."""

    def __init__(self, writers: Iterable[ReportWriter], baseline: Baseline) -> None:
        self.writers, self.baseline = list(writers), baseline

    def write(self, result: FileResult) -> None:
        if self.baseline.state(result) is None:
            return
        self.baseline.reported += 1
        self.baseline.flagged += result.flagged and not result.is_container
        for w in self.writers:
            w.write(result)
