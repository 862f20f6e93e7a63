"""Shared table handling: rendering cell values as text, finding the header row, cutting blocks."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from itertools import chain, islice

from dlpscan.extract.context import Context
from dlpscan.model import Block, TableBlock, TextBlock

DAMAGED_FLOAT = "excel_float_damaged"
HEADER_SEARCH_ROWS = 30
_DAMAGE_THRESHOLD = 1e15  # doubles hold 15-16 significant digits: longer numbers were rounded by Excel
RENDERED_BELOW = _DAMAGE_THRESHOLD  # a number below it (in magnitude) renders as format(number, ".15g")
_NUMBERISH = re.compile(r"[\s\d.,:/+\-()%¥$€]*")


def render_cell(value: object, ctx: Context | None = None) -> str:
    """A cell value as text: numbers as Excel shows them (15 significant digits, integral ones
    without '.0'), dates as ISO strings, None as ''.

    Floats of 1e15 or more are numbers Excel has already rounded to 15 significant digits
    (ID and card numbers typed as numbers): they are rendered as Excel shows them (trailing
    zeros) and counted in the notes, so nobody takes them for exact values.
    """
    t = type(value)
    if t is str:
        return value  # type: ignore[return-value]
    if value is None:
        return ""
    if t is float:
        return _render_float(value, ctx)  # type: ignore[arg-type]
    if t is bool:
        return "TRUE" if value else "FALSE"
    if t is int:
        return str(value)
    if t is dt.datetime:
        if value.time() == dt.time(0):  # type: ignore[union-attr]
            return value.date().isoformat()  # type: ignore[union-attr]
        return value.isoformat(sep=" ")  # type: ignore[union-attr]
    if t is dt.date or t is dt.time:
        return value.isoformat()  # type: ignore[union-attr]
    return str(value)


def _render_float(value: float, ctx: Context | None) -> str:
    if -_DAMAGE_THRESHOLD < value < _DAMAGE_THRESHOLD:
        return format(value, ".15g")
    if value.is_integer():
        if ctx is not None:
            ctx.note(DAMAGED_FLOAT)
        return str(int(Decimal(f"{value:.15g}")))
    return str(value)  # nan, inf


def render_row(row: Sequence[object], ctx: Context | None = None) -> tuple[str, ...]:
    """Render a row. Strings (most cells) pass untouched; this loop runs per cell, so it is kept lean
    (a row of strings only, the usual export, is one type check per cell)."""
    for v in row:
        if type(v) is not str:
            break
    else:
        return tuple(row)
    out = list(row)
    for i, v in enumerate(out):
        if type(v) is not str:
            out[i] = (
                format(v, ".15g")
                if type(v) is float and -_DAMAGE_THRESHOLD < v < _DAMAGE_THRESHOLD  # type: ignore[operator]
                else render_cell(v, ctx)
            )
    return tuple(out)


def is_label_row(cells: Sequence[str]) -> bool:
    """Does this row look like column headers: mostly non-empty, short, non-numeric, distinct?"""
    values = [c.strip() for c in cells if c and c.strip()]
    used_width = len(cells) - _trailing_empty(cells)
    if len(values) < 2 or len(values) * 2 < used_width or len(set(values)) < len(values) * 0.8:
        return False
    return sum(1 for v in values if _is_label(v)) >= 0.8 * len(values)


def _trailing_empty(cells: Sequence[str]) -> int:
    n = 0
    for c in reversed(cells):
        if c and c.strip():
            break
        n += 1
    return n


def _is_label(value: str) -> bool:
    if len(value) > 32 or _NUMBERISH.fullmatch(value):
        return False
    digits = sum(ch.isdigit() for ch in value)
    return digits * 3 <= len(value)


def find_header(rows: Sequence[Sequence[str]], width: int | None = None) -> int | None:
    """Index of the first label-like row among `rows` (optionally only rows `width` cells wide)."""
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if width is not None and len(row) != width:
            continue
        if is_label_row(row):
            return i
    return None


def clean_header(row: Sequence[str]) -> tuple[str, ...]:
    return tuple(" ".join(c.split()) if c else "" for c in row)


def rows_as_text(rows: Iterable[Sequence[str]]) -> str:
    return "\n".join("\t".join(c for c in row if c) for row in rows if any(row))


def table_blocks(
    rows: Iterable[tuple[str, ...]],
    ctx: Context,
    location: str,
    *,
    first_row: int = 1,
    header_fallback: str = "none",
    width: int | None = None,
) -> Iterator[Block]:
    """Cut rendered rows into TableBlocks under the detected header.

    Rows before the header row are handed on as one TextBlock (titles such as "客户清单 共59条").
    `header_fallback` says what happens when no row looks like labels: "none" (all rows are data
    under an empty header) or "first" (the first row is the header anyway, as in Word tables).
    """
    it = iter(rows)
    head = list(islice(it, HEADER_SEARCH_ROWS))
    if not head:
        return
    h = find_header(head, width)
    if h is None and header_fallback == "first":
        h = 0
    if h is None:
        ncols = max(len(r) for r in head)
        header: tuple[str, ...] = ("",) * ncols
        data_start = 0
    else:
        if h:
            text = rows_as_text(head[:h])
            if text:
                yield TextBlock(text, f"{location} rows {first_row}-{first_row + h - 1}")
        header = clean_header(head[h])
        data_start = h + 1
    yield from chunk_rows(head[data_start:], it, header, ctx, location, first_row + data_start)


def chunk_rows(
    buffered: list[tuple[str, ...]],
    rest: Iterator[tuple[str, ...]],
    header: tuple[str, ...],
    ctx: Context,
    location: str,
    first_row: int,
) -> Iterator[TableBlock]:
    """Rows in TableBlocks of at most `table_block_rows` rows and about `table_block_cells` cells.

    The cell bound keeps a block's detection memory bounded on very wide tables; a row wider than
    it is cut into pieces, each under the matching slice of the header.
    """
    max_rows, max_cells = max(1, ctx.limits.table_block_rows), ctx.limits.table_block_cells
    rows = chain(buffered, rest)
    while True:  # most tables: whole blocks of rows within the cell bound, taken without a step per row
        block = list(islice(rows, max_rows))
        if not block:
            return
        if sum(map(len, block)) > max_cells:
            break
        ctx.check()
        yield TableBlock(header=header, rows=block, location=location, first_row=first_row)
        first_row += len(block)
    yield from _cut_by_cells(chain(block, rows), header, ctx, location, first_row, max_rows, max_cells)


def _cut_by_cells(
    rows: Iterator[tuple[str, ...]],
    header: tuple[str, ...],
    ctx: Context,
    location: str,
    first_row: int,
    max_rows: int,
    max_cells: int,
) -> Iterator[TableBlock]:
    """`chunk_rows` row by row, from the first block that holds more than `max_cells` cells on."""
    block: list[tuple[str, ...]] = []
    cells = 0
    for row in rows:
        if len(row) > max_cells:
            if block:
                ctx.check()
                yield TableBlock(header=header, rows=block, location=location, first_row=first_row)
                first_row, block, cells = first_row + len(block), [], 0
            for i in range(0, len(row), max_cells):
                ctx.check()
                yield TableBlock(header[i : i + max_cells], [row[i : i + max_cells]], location, first_row)
            first_row += 1
            continue
        if block and (len(block) >= max_rows or cells + len(row) > max_cells):
            ctx.check()
            yield TableBlock(header=header, rows=block, location=location, first_row=first_row)
            first_row, block, cells = first_row + len(block), [], 0
        block.append(row)
        cells += len(row)
    if block:
        ctx.check()
        yield TableBlock(header=header, rows=block, location=location, first_row=first_row)
