"""The decisions both engines share once each candidate is scored: which of several overlapping
findings wins (`rank`, `walk`), and which types a table column's header lets us read as whole cells.

The fast engine (engine.py) walks candidate starts lazily; the Presidio adapter (presidio.py)
resolves the results of its recognizers (`resolve`). Same rules, one place.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from dlpscan.detect.registry import RecognizerDef
from dlpscan.detect.scoring import Finding

S = TypeVar("S")
T = TypeVar("T")


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


def walk(
    starts: Callable[[int], tuple[int, S] | None], best_at: Callable[[int, S], tuple[T, int] | None]
) -> list[T]:
    """The walk both engines share. `starts(pos)` is the first start at or after `pos` where some
    pattern matches (with what the caller needs there); `best_at` decides that start: the best-ranked
    candidate and the end of its match, or None when none is an entity. The walk resumes after the
    winner's match, or at the next character. Spans never overlap.

    The fast engine walks the text lazily; its compiled loop (_core.pyx) is this walk in Cython, held
    equal to it by tests/test_differential.py."""
    out: list[T] = []
    pos = 0
    while (hit := starts(pos)) is not None:
        start, state = hit
        best = best_at(start, state)
        if best is None:
            pos = start + 1
        else:
            out.append(best[0])
            pos = max(best[1], start + 1)
    return out


def resolve(candidates: Iterable[Candidate]) -> list[Candidate]:
    """`walk` over decided candidates: at each start the best-ranked one wins (the first in pattern
    order on a full tie)."""
    at: dict[int, list[Candidate]] = {}
    for c in sorted(candidates, key=lambda c: (c.match_start, c.order)):
        at.setdefault(c.match_start, []).append(c)
    ordered = list(at)

    def starts(pos: int) -> tuple[int, list[Candidate]] | None:
        i = bisect.bisect_left(ordered, pos)
        return (ordered[i], at[ordered[i]]) if i < len(ordered) else None

    def best_at(start: int, group: list[Candidate]) -> tuple[Candidate, int]:
        best = group[0]
        for c in group[1:]:
            if c.rank > best.rank:
                best = c
        return best, best.match_end

    return walk(starts, best_at)


def whole_cell_types(
    relation: Mapping[str, int], definitions: Sequence[RecognizerDef]
) -> list[RecognizerDef]:
    """The cell-detector types (names, addresses) whose cells are read whole under a header with
    these relations (entity -> header_relation): the header names the type and no other type."""
    named = [entity for entity, rel in relation.items() if rel > 0]
    return [d for d in definitions if d.cell_detector and named == [d.entity]]
