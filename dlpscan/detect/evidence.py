"""Evidence rules beyond a single pattern match, shared by the fast engine and the Presidio adapter.

- Companion names: a surname-led 2-4 character token close to an exposed direct identifier on
  the same line (`王伟 13912345678`) is a name; a bare pair of characters anywhere is not.
- Cells: a whole cell under a name or address column header, validated on its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from dlpscan.detect.registry import RecognizerDef
from dlpscan.detect.scoring import Finding
from dlpscan.detect.text import fold
from dlpscan.detect.validators import HAN_CLASS

# How far (characters) from an identifier a companion name may sit: a lead line, a chat sample,
# a table row flattened to text. Wider spans (a PDF page without line breaks) are not records.
COMPANION_WINDOW = 40
_HAN_TOKEN = re.compile(f"(?<![{HAN_CLASS}·])[{HAN_CLASS}]{{2,4}}(?![{HAN_CLASS}·])")
MASKED_CELL_MAX = 40
# A name leading a cell, followed by something else: 张三 13912345678, 张三（经理）, 张三/销售部
_LEADING_TOKEN = re.compile(f"([{HAN_CLASS}]{{2,4}})(?:[\\s,，/;；|()（）:：、]|\\d)")


def with_line_numbers(text: str, findings: Sequence[Finding]) -> list[Finding]:
    """The findings (sorted by start) with `record` set to their 0-based line number."""
    out: list[Finding] = []
    line, last = 0, 0
    for f in findings:
        line += text.count("\n", last, f.start)
        last = f.start
        out.append(_with_record(f, line))
    return out


def companion_names(
    text: str, findings: Sequence[Finding], direct: frozenset[str], is_name: Callable[[str], float]
) -> list[Finding]:
    """Names next to direct identifiers. `findings` carry line numbers in `record`; `is_name` is the
    CN_NAME validator bound to the loaded definitions."""
    by_line: dict[int, list[Finding]] = {}
    for f in findings:
        by_line.setdefault(f.record, []).append(f)
    out: list[Finding] = []
    for line, on_line in by_line.items():
        anchors = [f for f in on_line if f.entity_type in direct and not f.masked]
        if not anchors:
            continue
        lo = text.rfind("\n", 0, on_line[0].start) + 1
        hi = text.find("\n", on_line[0].start)
        hi = len(text) if hi < 0 else hi
        # Only findings written with Han characters (names, addresses, plates) can overlap a token.
        han_spans = sorted((f.start, f.end) for f in on_line if not text[f.start : f.end].isascii())
        k = 0  # tokens come in text order and findings do not overlap: one pointer, not a scan per token
        for wlo, whi in _windows(anchors, lo, hi):
            for m in _HAN_TOKEN.finditer(text, wlo, whi):
                while k < len(han_spans) and han_spans[k][1] <= m.start():
                    k += 1
                if k < len(han_spans) and han_spans[k][0] < m.end():
                    continue
                if is_name(m.group()) > 0:
                    out.append(Finding("CN_NAME", m.group(), m.start(), m.end(), 0.6, record=line))
    return out


def _windows(anchors: Sequence[Finding], lo: int, hi: int) -> list[tuple[int, int]]:
    """The stretches of a line within COMPANION_WINDOW characters of an anchor, merged."""
    merged: list[tuple[int, int]] = []
    for a in sorted(anchors, key=lambda f: f.start):
        start, end = max(lo, a.start - COMPANION_WINDOW), min(hi, a.end + COMPANION_WINDOW)
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def cell_finding(
    d: RecognizerDef,
    validate: Callable[[str], float],
    cell: str,
    start: int,
    row: int = 0,
    column: int | None = None,
    confirmed: bool = True,
    fold: Callable[[str], str] = fold,
) -> Finding | None:
    """A whole cell under a column header that names `d`'s type (names, addresses); `validate` is
    d's validator bound to the loaded definitions (Labels.validate). `confirmed`: the header said
    so (False for a column recognised by its content). `fold`: text.fold or its compiled twin."""
    folded = fold(cell)
    value = folded.strip()
    if not value:
        return None
    start += len(folded) - len(folded.lstrip())
    end = start + len(value)
    if "*" in value:
        if len(value) > MASKED_CELL_MAX:
            return None
        return Finding(
            d.entity, value, start, end, 0.8, masked=True, record=row, column=column, confirmed=confirmed
        )
    whole = cell_value(d, validate, value)
    if whole is None:
        return None
    normalised, length = whole
    return Finding(
        d.entity, normalised, start, start + length, 0.9, record=row, column=column, confirmed=confirmed
    )


def cell_value(d: RecognizerDef, validate: Callable[[str], float], value: str) -> tuple[str, int] | None:
    """(normalised value, length) of a stripped cell that is `d`'s value, or whose leading token is
    (a name followed by more: 张三 13912345678, 张三（经理）, 张三/销售部); None when neither."""
    normalised = d.normalise(value)
    if validate(normalised) > 0:
        return normalised, len(value)
    lead = _LEADING_TOKEN.match(value)
    if lead is not None and validate(token := d.normalise(lead.group(1))) > 0:
        return token, lead.end(1)
    return None


def _with_record(f: Finding, record: int) -> Finding:
    return Finding(
        f.entity_type,
        f.value,
        f.start,
        f.end,
        f.score,
        f.masked,
        f.damaged,
        f.hidden_digits,
        record,
        f.column,
        f.confirmed,
    )
