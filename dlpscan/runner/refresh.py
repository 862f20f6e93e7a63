"""Applying a rebuilt EDM index to unchanged files without reading them again.

A file's stored evidence (keyed value digests and where they were found, dlpscan.edm.evidence) is
valid for every build of an index with the same key and schema types: the detector version says so
(`ScanSettings.detector_version`). When the policy depends on EDM counts (`min_edm_rows`, the
`edm_rows` count source), an unchanged file matched with another build of the index is matched
again from its evidence and its policy decision re-evaluated; otherwise it is carried forward with
the counts of the build it was matched with (its report line names that version).
"""

from __future__ import annotations

from dlpscan.edm.scan import EdmScanner
from dlpscan.model import FileResult
from dlpscan.pipeline import ScanSettings
from dlpscan.policy import Policy, evaluate
from dlpscan.store import Store, StoredFile


class EdmRefresh:
    def __init__(self, settings: ScanSettings, policy: Policy, store: Store | None) -> None:
        self.policy, self.store = policy, store
        on = settings.edm is not None and policy.uses_edm and store is not None
        self.scanner = EdmScanner(settings.edm) if on and settings.edm is not None else None
        self.version = settings.edm.version if settings.edm is not None else None

    def needed(self, stored: StoredFile) -> bool:
        """Whether an unchanged file must be matched again: the policy uses EDM, and some line of it
        was matched with another build of the index."""
        if self.scanner is None:
            return False
        lines = [stored, *stored.members]
        return any(s.result.edm is not None and s.result.edm.version != self.version for s in lines)

    def apply(self, stored: StoredFile) -> None:
        """Match the file (and its archive members) again from the stored evidence and re-evaluate
        the policy; updates the stored results in place (under their store keys)."""
        assert self.scanner is not None and self.store is not None
        lines = [s.result for s in (stored, *stored.members) if s.result.edm is not None]
        evidence = self.store.edm_evidence([r.path for r in lines])
        for result in lines:
            self._rematch(result, evidence.get(result.path))

    def _rematch(self, result: FileResult, evidence: bytes | None) -> None:
        assert self.scanner is not None
        result.edm = self.scanner.rematch(evidence)
        result.flagged, result.severity, result.rules = evaluate(self.policy, result)
