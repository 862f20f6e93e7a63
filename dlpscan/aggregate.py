"""Findings of one document -> per-type counts, records, keyed fingerprints and masked samples.

This is where raw values stop: what leaves here is counts, HMAC-SHA256 fingerprints and masked forms.
"""

from __future__ import annotations

import hmac
from collections import defaultdict
from collections.abc import Iterable

from dlpscan.detect.registry import RecognizerDef
from dlpscan.detect.scoring import Finding
from dlpscan.detect.validators import minor_age
from dlpscan.model import EntityStats, MaskedStats

SAMPLES_PER_TYPE = 3


def fingerprint(key: bytes, value: str) -> str:
    """Lower-case hex HMAC-SHA256 of the normalised value (report contract)."""
    return hmac.digest(key, value.encode("utf-8"), "sha256").hex()


class DocumentAggregate:
    """Accumulates findings block by block; `entities()` etc. read the totals."""

    def __init__(self, definitions: Iterable[RecognizerDef], key: bytes) -> None:
        self._key = key
        self._types = {d.entity: d.entity_type for d in definitions}
        self._values: dict[str, set[str]] = defaultdict(set)
        self._totals: dict[str, int] = defaultdict(int)
        self._masked: dict[str, MaskedStats] = {}
        self.records = 0
        self.notes: dict[str, int] = defaultdict(int)

    def add_block(self, findings: list[Finding]) -> None:
        per_record: dict[int, int] = defaultdict(int)
        for f in findings:
            if f.damaged:
                self.notes[f"{f.entity_type.lower()}_damaged"] += 1
                continue
            if f.masked:
                stats = self._masked.setdefault(f.entity_type, MaskedStats())
                stats.total += 1
                if f.hidden_digits < self._types[f.entity_type].mask_rule.min_hidden:
                    stats.noncompliant += 1
                continue
            self._values[f.entity_type].add(f.value)
            self._totals[f.entity_type] += 1
            if self._types[f.entity_type].personal_data:
                per_record[f.record] += 1
        self.records += sum(1 for n in per_record.values() if n >= 2)

    def entities(self, with_fingerprints: bool) -> dict[str, EntityStats]:
        out: dict[str, EntityStats] = {}
        for etype in sorted(self._values):
            values = sorted(self._values[etype])
            fps = None
            if with_fingerprints and self._types[etype].fingerprint:
                fps = sorted(fingerprint(self._key, v) for v in values)
            out[etype] = EntityStats(
                distinct=len(values),
                total=self._totals[etype],
                fingerprints=fps,
                samples=[self._types[etype].mask(v) for v in values[:SAMPLES_PER_TYPE]],
            )
        return out

    def masked(self) -> dict[str, MaskedStats]:
        return dict(sorted(self._masked.items()))

    def final_notes(self) -> dict[str, int]:
        minors = sum(1 for v in self._values.get("CN_RESIDENT_ID", ()) if minor_age(v))
        if minors:
            self.notes["minors"] = minors
        return dict(self.notes)
