"""Fixed-width text: bank batch files, mainframe and core-banking exports without delimiters.

Read this way only when fields are glued together (letters and digits run on longer than any one
identifier), which text patterns cannot split. Most lines have one width, counted either in
characters or in display columns (a Han character takes two, as it takes two bytes in GBK files
padded to byte widths). Field boundaries are the positions where, on nearly every such line, one
kind of character (digit, Han, letter, space, other) gives way to another and no line runs on
with one kind across them. Lines of that width become table rows cut at those boundaries; other
lines (batch header and trailer records) are handed on as text. Numbers glued to each other stay
one cell; detection splits such columns where values start (detect/columns.py).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TextIO

from dlpscan.extract.context import Context
from dlpscan.model import Block, TableBlock, TextBlock

SNIFF_LINES = 200
MIN_LINES = 5
MIN_WIDTH = 20
SHARE_OF_LINES = 0.8  # lines of the usual width among non-empty lines
BOUNDARY_SHARE = 0.9  # lines that change character kind at a boundary
MAX_WIDTH = 4096
DISTINCT_SHARE = 0.8
# Letters and digits run together longer than any one identifier: fields glued without a
# separator, which text patterns cannot tell apart (and why this reader exists).
_GLUED = re.compile(r"[0-9A-Za-z]{20,}")
# A grid needs glued fields on SHARE_OF_LINES of its lines, which are SHARE_OF_LINES of all lines
# (0.64 of them): fewer glued lines than this lower bound rule one out before widths are measured.
_GLUED_SHARE = 0.6


@dataclass(frozen=True, slots=True)
class Grid:
    display: bool  # widths in display columns (Han = 2), else in characters
    width: int
    cuts: tuple[int, ...]  # field starts, in width units, after the first field


def sniff_grid(head: str) -> Grid | None:
    """The fixed-width grid of the decoded start of a file, or None when it is not one."""
    lines = head.splitlines()
    if len(lines) > 1 and not head.endswith(("\n", "\r")):
        lines = lines[:-1]
    lines = [ln for ln in lines[:SNIFF_LINES] if ln.strip()]
    if len(lines) < MIN_LINES:
        return None
    if sum(1 for ln in lines if _GLUED.search(ln)) < _GLUED_SHARE * len(lines):
        return None  # too few glued lines for the test below: no need to measure widths
    best: tuple[int, bool, int] | None = None  # (lines of the usual width, display, width)
    for display in (False, True):
        width, count = Counter(_width(ln, display) for ln in lines).most_common(1)[0]
        if best is None or count > best[0]:
            best = (count, display, width)
    count, display, width = best
    if width < MIN_WIDTH or width > MAX_WIDTH or count < MIN_LINES or count < SHARE_OF_LINES * len(lines):
        return None
    same = [ln for ln in lines if _width(ln, display) == width]
    if len(set(same)) < DISTINCT_SHARE * len(same):
        return None  # a line repeated is not a table of records
    if sum(1 for ln in same if _GLUED.search(ln)) < SHARE_OF_LINES * len(same):
        return None  # fields apart from each other read as well as text
    cuts = _boundaries(same, display, width)
    return Grid(display, width, cuts) if len(cuts) >= 2 else None


def _width(line: str, display: bool) -> int:
    if not display:
        return len(line)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


_SPACE = 2


def _kind(c: str) -> int:
    if c.isdigit():
        return 1
    if c.isspace():
        return _SPACE
    if c.isascii():
        return 3 if c.isalpha() else 4
    return 5 if unicodedata.east_asian_width(c) in "WF" else 3


def _starts(line: str, display: bool) -> Iterator[tuple[int, str]]:
    """(position in width units, character) for each character of the line."""
    pos = 0
    for c in line:
        yield pos, c
        pos += 2 if display and unicodedata.east_asian_width(c) in "WF" else 1


def _boundaries(lines: Sequence[str], display: bool, width: int) -> tuple[int, ...]:
    """Positions where nearly every line changes kind of character and no line runs on with one
    kind (a longer name, a wider number) across the position."""
    changes: Counter[int] = Counter()
    runs_on: set[int] = set()
    for line in lines:
        previous = None
        for pos, c in _starts(line, display):
            kind = _kind(c)
            if previous is not None:
                if kind != previous:
                    changes[pos] += 1
                elif kind != _SPACE:
                    runs_on.add(pos)
            previous = kind
    need = BOUNDARY_SHARE * len(lines)
    return tuple(sorted(p for p, n in changes.items() if n >= need and 0 < p < width and p not in runs_on))


def cut(line: str, grid: Grid) -> tuple[str, ...]:
    """The cells of one line of the grid's width."""
    cells: list[str] = []
    bounds = iter(grid.cuts)
    nxt = next(bounds, None)
    current: list[str] = []
    for pos, c in _starts(line, grid.display):
        while nxt is not None and pos >= nxt:
            cells.append("".join(current).strip())
            current = []
            nxt = next(bounds, None)
        current.append(c)
    cells.append("".join(current).strip())
    return tuple(cells)


def fixed_width_blocks(tf: TextIO, grid: Grid, ctx: Context) -> Iterator[Block]:
    """Lines of the grid's width as TableBlocks without a header; other lines as text."""
    header = ("",) * (len(grid.cuts) + 1)
    rows: list[tuple[str, ...]] = []
    other: list[str] = []
    first_row = first_other = 1
    other_chars = 0
    n = 0
    for n, raw in enumerate(iter(lambda: tf.readline(ctx.limits.text_block_chars), ""), start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        if _width(line, grid.display) == grid.width:
            if not rows:
                first_row = n
            rows.append(cut(line, grid))
            if len(rows) >= ctx.limits.table_block_rows:
                ctx.check()
                yield TableBlock(header, rows, "", first_row)
                rows = []
            continue
        if not other:
            first_other = n
        other.append(line)
        other_chars += len(line)
        if other_chars >= ctx.limits.text_block_chars:
            yield TextBlock("\n".join(other), f"lines {first_other}-{n}", first_line=first_other)
            other, other_chars = [], 0
    if rows:
        yield TableBlock(header, rows, "", first_row)
    if other:
        yield TextBlock("\n".join(other), f"lines {first_other}-{n}", first_line=first_other)
