"""Turning a pattern match into a scored finding: normalise, validate, read the context.

Shared by the fast engine and the Presidio adapter, so both decide every candidate alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from dlpscan.detect.registry import PatternDef, RecognizerDef
from dlpscan.detect.validators import DAMAGE_CHECKS, bind


@dataclass(slots=True)
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
    confirmed: bool = False  # a column header or a label named the type (not pattern and checksum alone)


def _alternation(words: tuple[str, ...]) -> re.Pattern[str] | None:
    if not words:
        return None
    ordered = sorted({w.lower() for w in words}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, ordered)), re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Labels:
    """What deciding a candidate of one definition needs, prepared once: its context words compiled
    into case-insensitive alternations, and its validator bound to the loaded definitions."""

    positive: re.Pattern[str] | None
    negative: re.Pattern[str] | None
    headers: re.Pattern[str] | None
    negative_headers: re.Pattern[str] | None
    validate: Callable[[str], float]  # confidence in [0, 1] for a normalised value; 0 rejects

    @classmethod
    def of(cls, d: RecognizerDef, known_labels: frozenset[str] = frozenset()) -> Labels:
        """`known_labels`: every label word of the loaded definitions (registry.label_words)."""
        return cls(
            _alternation(d.context.words),
            _alternation(d.negative_context.words),
            _alternation(d.headers),
            _alternation(d.negative_headers),
            bind(d.validator, known_labels),
        )


def header_relation(labels: Labels, header: str) -> int:
    """+1 when a column header names this type, -1 when it names a look-alike (order no. ...), else 0.
    A path of nested keys (order.buyer.phone) is named by its last key, when that key says anything."""
    if not header:
        return 0
    if "." in header:
        last = _own_relation(labels, header.rsplit(".", 1)[1])
        if last:
            return last
    return _own_relation(labels, header)


def _own_relation(labels: Labels, header: str) -> int:
    if labels.negative_headers is not None and labels.negative_headers.search(header):
        return -1
    if labels.headers is not None and labels.headers.search(header):
        return 1
    return 0


# Context windows are at most 200 characters (registry), so nothing further back than this matters.
CONTEXT_REACH = 512


def line_bounds(text: str, start: int, floor: int = 0) -> int:
    """Start of the line holding `start`, or of the previous line when the value opens its line.

    Looks back at most CONTEXT_REACH characters: searching (and copying) back to the start of an
    enormous line for every candidate on it was quadratic."""
    lo = max(floor, start - CONTEXT_REACH)
    line_start = text.rfind("\n", lo, start) + 1 or lo
    if line_start > lo and not text[line_start:start].strip():
        line_start = text.rfind("\n", lo, line_start - 1) + 1 or lo
    return line_start


def _last(pattern: re.Pattern[str] | None, text: str, lo: int, hi: int) -> int:
    """Start of the last match of `pattern` inside text[lo:hi], or -1."""
    at = -1
    if pattern is not None:
        for m in pattern.finditer(text, lo, hi):
            at = m.start()
    return at


def label_evidence(d: RecognizerDef, labels: Labels, text: str, start: int, floor: int) -> int:
    """+1: a label precedes the value; -1: a negative label is nearer than any positive one; 0: neither."""
    pos_at = _last(labels.positive, text, max(floor, start - d.context.window), start)
    neg_at = _last(labels.negative, text, max(floor, start - d.negative_context.window), start)
    if neg_at > pos_at:
        return -1
    return 1 if pos_at >= 0 else 0


def _hidden(raw: str) -> int:
    """Hidden characters of a masked value; a trailing X is an ID check character, not a mask."""
    body = raw[:-1] if raw[-1:] in "xX" and raw[:-1].count("*") else raw
    return sum(1 for c in body if c in "*xX")


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
    The value is validated before the context is read: most candidates fail cheaply.
    """
    group = pattern.value_group
    if header < 0 and group is None:  # a label inside the match outweighs an unrelated column header
        return None
    start, end = match.span(group) if group else match.span()
    raw = text[start:end]
    header_boost = d.header_boost if header > 0 else 0.0

    def evidence() -> int:
        return label_evidence(d, labels, text, match.start(), line_bounds(text, match.start(), floor))

    def boost(evidence: int) -> float:
        return (d.context.boost if evidence > 0 else 0.0) + header_boost

    if pattern.masked:
        seen = evidence()
        if seen < 0 or pattern.score + boost(seen) < d.threshold:
            return None
        return Finding(
            d.entity,
            raw,
            start,
            end,
            min(1.0, pattern.score + boost(seen)),
            masked=True,
            hidden_digits=_hidden(raw),
            record=record,
            column=column,
            confirmed=_confirmed(seen, header, group),
        )
    value = d.normalise(raw)
    confidence = labels.validate(value)
    if confidence <= 0:
        check = DAMAGE_CHECKS.get(d.validator or "")
        if check and check(value) and (seen := evidence()) >= 0 and boost(seen):
            return Finding(d.entity, value, start, end, 0.5, damaged=True, record=record, column=column)
        return None
    seen = evidence()
    if seen < 0 or pattern.score * confidence + boost(seen) < d.threshold:
        return None
    score = min(1.0, pattern.score * confidence + boost(seen))
    return Finding(
        d.entity,
        value,
        start,
        end,
        score,
        record=record,
        column=column,
        confirmed=_confirmed(seen, header, group),
    )


def _confirmed(evidence: int, header: int, group: str | None) -> bool:
    """A label before the value, a label inside the match (a labelled pattern) or a column header."""
    return evidence > 0 or header > 0 or group is not None
