"""Findings in text read by OCR: which they are, how sure the engine was, and which do not count.

A digit string the engine read with low confidence may be misread; it is a finding only when a
checksum confirms it (18-digit resident IDs, bank cards, USCCs): a misread digit breaks the check,
so what passes is almost surely what is printed. The tally becomes the result's notes.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Iterable

from dlpscan.detect.registry import RecognizerDef
from dlpscan.detect.scoring import Finding
from dlpscan.model import Block, OcrText, TableBlock

LOW_CONFIDENCE = 0.90  # OCR confidence below which a digit string needs a checksum (bench/bench_ocr.py)
MIN_DIGITS = 6  # a value with this many digits is a digit string
# Validators that check a checksum (the 15-digit legacy ID has none).
CHECKSUMMED: dict[str, Callable[[str], bool]] = {
    "cn_resident_id": lambda value: len(value) == 18,
    "cn_bank_card": lambda value: True,  # Luhn
    "cn_uscc": lambda value: True,  # GB 32100 check character
}
CARD_KEYS = {"id_card": "CN_RESIDENT_ID", "bank_card": "CN_BANK_CARD"}


class OcrTally:
    """Filters the findings of OCR blocks and counts what came from OCR, for one document."""

    def __init__(self, definitions: Iterable[RecognizerDef]) -> None:
        self._validator = {d.entity: d.validator or "" for d in definitions}
        self.found: Counter[str] = Counter()
        self.cards: Counter[str] = Counter()
        self.dropped = 0
        self._confidence_sum = 0.0
        self._confidence_min = 1.0

    def filter(self, block: Block, findings: list[Finding]) -> list[Finding]:
        """The findings of `block` that count (all of them when OCR did not read it)."""
        ocr = block.ocr
        if ocr is None:
            return findings
        confidence = _cell_confidence(ocr) if isinstance(block, TableBlock) else _span_confidence(ocr)
        kept: list[Finding] = []
        for f in findings:
            if f.masked or f.damaged:
                kept.append(f)
                continue
            score = confidence(f)
            if score < LOW_CONFIDENCE and not self._confirmed(f):
                self.dropped += 1
                continue
            kept.append(f)
            self.found[f.entity_type] += 1
            self._confidence_sum += score
            self._confidence_min = min(self._confidence_min, score)
        key = CARD_KEYS.get(ocr.card)
        if key is not None:
            self.cards[ocr.card] += len({f.record for f in kept if f.entity_type == key and not f.masked})
        return kept

    def _confirmed(self, f: Finding) -> bool:
        """Is the value no digit string, or one whose checksum validates?"""
        if sum(c.isdigit() for c in f.value) < MIN_DIGITS:
            return True
        check = CHECKSUMMED.get(self._validator.get(f.entity_type, ""))
        return check is not None and check(f.value)

    def notes(self) -> dict[str, int]:
        """`ocr_found_<type>` occurrences, confidence in percent, dropped digit strings, cards."""
        out: dict[str, int] = {f"ocr_found_{etype.lower()}": n for etype, n in sorted(self.found.items())}
        total = sum(self.found.values())
        if total:
            out["ocr_confidence_pct"] = round(100 * self._confidence_sum / total)
            out["ocr_confidence_min_pct"] = int(100 * self._confidence_min)
        if self.dropped:
            out["ocr_low_confidence_dropped"] = self.dropped
        for card, n in sorted(self.cards.items()):
            if n:
                out[f"ocr_{card}s"] = n
        return out


def _span_confidence(ocr: OcrText) -> Callable[[Finding], float]:
    """The lowest confidence of the recognised runs a finding's span touches."""
    starts = [s for s, _, _ in ocr.spans]

    def confidence(f: Finding) -> float:
        i = max(bisect.bisect_right(starts, f.start) - 1, 0)
        scores = []
        for start, end, score in ocr.spans[i:]:
            if start >= f.end:
                break
            if end > f.start:
                scores.append(score)
        return min(scores, default=1.0)

    return confidence


def _cell_confidence(ocr: OcrText) -> Callable[[Finding], float]:
    def confidence(f: Finding) -> float:
        try:
            return ocr.cells[f.record][f.column or 0]
        except IndexError:
            return 1.0

    return confidence
