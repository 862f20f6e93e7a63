"""Turning a pattern match into a scored finding: normalise, validate, read the context.

Shared by the fast engine and the Presidio adapter, so both decide every candidate alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dlpscan.detect.registry import PatternDef, RecognizerDef
from dlpscan.detect.validators import DAMAGE_CHECKS


@dataclass(frozen=True, slots=True)
class Finding:
    """One detected value. `value` is the normalised raw value: it never leaves the process."""

    entity_type: str
    value: str
    start: int
    end: int
    score: float
    masked: bool = False
    damaged: bool = False
    hidden_digits: int = 0  # for masked values: how many characters are hidden
    record: int = 0  # line (text) or row (table) index inside the block, for record counting
    column: int | None = None


@dataclass(frozen=True, slots=True)
class Labels:
    """Lower-cased context words of one definition, prepared once."""

    positive: tuple[str, ...]
    negative: tuple[str, ...]
    headers: tuple[str, ...]
    negative_headers: tuple[str, ...]

    @classmethod
    def of(cls, d: RecognizerDef) -> Labels:
        def low(words: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(w.lower() for w in words)

        return cls(
            low(d.context.words), low(d.negative_context.words), low(d.headers), low(d.negative_headers)
        )


def header_relation(labels: Labels, header: str) -> int:
    """+1 when a column header names this type, -1 when it names a look-alike (order no. ...), else 0."""
    h = header.lower()
    if not h:
        return 0
    if any(w in h for w in labels.negative_headers):
        return -1
    if any(w in h for w in labels.headers):
        return 1
    return 0


def line_bounds(text: str, start: int, floor: int = 0) -> int:
    """Start of the line holding `start`, or of the previous line when the value opens its line."""
    line_start = text.rfind("\n", floor, start) + 1
    if line_start > floor and not text[line_start:start].strip():
        line_start = text.rfind("\n", floor, line_start - 1) + 1
    return max(line_start, floor)


def context_adjustment(d: RecognizerDef, labels: Labels, text: str, start: int, floor: int) -> float | None:
    """Boost for a label before the value; None when a negative label is nearer than any positive one."""
    lo = max(floor, start - max(d.context.window, d.negative_context.window))
    window = text[lo:start].lower()
    pos_at = max((window.rfind(w) for w in labels.positive), default=-1)
    neg_window = window[-d.negative_context.window :]
    neg_at = max((neg_window.rfind(w) for w in labels.negative), default=-1)
    if neg_at >= 0:
        neg_at += len(window) - len(neg_window)
        if neg_at > pos_at:
            return None
    if pos_at >= 0 and pos_at >= len(window) - d.context.window:
        return d.context.boost
    return 0.0


_STAR_OR_X = re.compile(r"[*xX]")


def evaluate(
    d: RecognizerDef,
    labels: Labels,
    pattern: PatternDef,
    match: re.Match[str],
    text: str,
    *,
    floor: int = 0,
    header: int = 0,
    record: int = 0,
    column: int | None = None,
) -> Finding | None:
    """Score one regex match of `pattern` (from definition `d`); None when it is not an entity.

    `floor` is where the current line/row starts (context never reaches before it);
    `header` is header_relation() of the column the value sits in (tables only).
    """
    group = pattern.value_group
    if header < 0 and group is None:  # a label inside the match outweighs an unrelated column header
        return None
    start, end = match.span(group) if group else match.span()
    raw = text[start:end]
    adjustment = context_adjustment(d, labels, text, match.start(), line_bounds(text, match.start(), floor))
    if adjustment is None:
        return None
    boost = adjustment + (d.header_boost if header > 0 else 0.0)
    if pattern.masked:
        hidden = len(_STAR_OR_X.findall(raw))
        score = min(1.0, pattern.score + boost)
        if score < d.threshold:
            return None
        return Finding(
            d.entity, raw, start, end, score, masked=True, hidden_digits=hidden, record=record, column=column
        )
    value = d.normalise(raw)
    confidence = d.validate_value(value)
    if confidence <= 0:
        check = DAMAGE_CHECKS.get(d.validator or "")
        if check and check(value) and boost > 0:
            return Finding(d.entity, value, start, end, 0.5, damaged=True, record=record, column=column)
        return None
    score = min(1.0, pattern.score * confidence + boost)
    if score < d.threshold:
        return None
    return Finding(d.entity, value, start, end, score, record=record, column=column)
