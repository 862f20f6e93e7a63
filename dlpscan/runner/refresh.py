"""Applying a rebuilt EDM index to unchanged files without reading them again.

A file's stored evidence (keyed value digests and where they were found, dlpscan.edm.evidence) is
valid for every build of an index with the same key and schema types: the detector version says so
(`ScanSettings.detector_version`). When the policy depends on EDM counts (`min_edm_rows`, the
`edm_rows` count source), an unchanged file matched with another build of the index is matched
again from its evidence and its policy decision re-evaluated; otherwise it is carried forward with
the counts of the build it was matched with (its report line names that version).
"""

from __future__ import annotations

import logging

from dlpscan.edm.scan import EdmScanner
from dlpscan.policy import Policy, evaluate
from dlpscan.settings import ScanSettings
from dlpscan.store import Store, StoredFile
from dlpscan.store.db import describe

log = logging.getLogger(__name__)
CARRY, REFRESHED, READ = "carry", "refreshed", "read"


class EdmRefresh:
    def __init__(self, settings: ScanSettings, policy: Policy, store: Store | None) -> None:
        self.policy, self.store = policy, store
        on = settings.edm is not None and policy.uses_edm and store is not None
        self.scanner = EdmScanner(settings.edm) if on and settings.edm is not None else None
        self.version = settings.edm.version if settings.edm is not None else None

    def check(self, stored: StoredFile) -> str:
        """What to do with an unchanged file: CARRY it forward as stored; or, when the policy uses
        EDM and some line of it was matched with another build of the index, match it again from its
        evidence and re-evaluate the policy, updating the stored results in place (REFRESHED); READ
        it when its evidence cannot be read (the store unavailable, the evidence damaged)."""
        lines = [s.result for s in (stored, *stored.members) if s.result.edm is not None]
        if self.scanner is None or all(r.edm is None or r.edm.version == self.version for r in lines):
            return CARRY
        assert self.store is not None
        try:
            evidence = self.store.edm_evidence([r.path for r in lines])
            matched = [self.scanner.rematch(evidence.get(r.path)) for r in lines]
        except Exception as exc:
            log.warning(
                "cannot match a file again from its stored EDM evidence (%s); reading it", describe(exc)
            )
            return READ
        for result, edm in zip(lines, matched, strict=True):
            result.edm = edm
            result.flagged, result.severity, result.rules = evaluate(self.policy, result)
        return REFRESHED
