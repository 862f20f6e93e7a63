"""The decisions both engines share once each candidate is scored: which of several overlapping
findings wins, and which types a table column's header lets us read as whole cells.

The fast engine (engine.py) applies them while it walks candidate starts; the Presidio adapter
(presidio.py) applies them to the results of its recognizers. Same rules, one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from dlpscan.detect.registry import RecognizerDef
from dlpscan.detect.scoring import Finding


def rank(f: Finding, priority: int) -> tuple[float, int, int]:
    """Higher wins at one start: score, then the type's priority, then the longer span."""
    return (round(f.score, 6), priority, f.end - f.start)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A decided pattern match: the finding plus the match span and rank keys."""

    finding: Finding
    match_start: int
    match_end: int
    order: int  # index of the pattern among all definitions' patterns: first wins a full tie
    priority: int

    @property
    def rank(self) -> tuple[float, int, int]:
        return rank(self.finding, self.priority)


def resolve(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Walk candidate starts left to right; at each start the best-ranked candidate wins (the first in
    pattern order on a full tie) and the walk resumes after its match. Spans never overlap."""
    ordered = sorted(candidates, key=lambda c: (c.match_start, c.order))
    out: list[Candidate] = []
    pos, i = 0, 0
    while i < len(ordered):
        start, best = ordered[i].match_start, ordered[i]
        i += 1
        while i < len(ordered) and ordered[i].match_start == start:
            if ordered[i].rank > best.rank:
                best = ordered[i]
            i += 1
        if start >= pos:
            out.append(best)
            pos = max(best.match_end, start + 1)
    return out


def whole_cell_types(
    relation: Mapping[str, int], definitions: Sequence[RecognizerDef]
) -> list[RecognizerDef]:
    """The cell-detector types (names, addresses) whose cells are read whole under a header with
    these relations (entity -> header_relation): the header names the type and no other type."""
    named = [entity for entity, rel in relation.items() if rel > 0]
    return [d for d in definitions if d.cell_detector and named == [d.entity]]
