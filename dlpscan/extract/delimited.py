"""Delimited text (CSV, TSV and .txt exports): delimiter, header row and streaming rows.

The delimiter is found by counting fields per line for each candidate (quote-aware, through the
csv module) and keeping the one that splits most lines into the same number of fields. The header
is the first label-like row of that width, so title lines such as "# 客户清单 共59条" before it are
handed on as text. Plain .txt files must look clearly tabular (strict mode) or they stay text.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

from dlpscan.extract.context import Context
from dlpscan.extract.errors import ExtractError
from dlpscan.extract.tables import chunk_rows, clean_header, find_header, rows_as_text
from dlpscan.model import Block, TextBlock

CANDIDATES = (",", "\t", ";", "|", "，", "^", "\x01", "\x1f", "\x1e")
# Delimiters that prose never uses: a file split by one of them is a table even without a header
# row (Hive and Spark write none).
NO_PROSE = frozenset({"|", "^", "\x01", "\x1f", "\x1e"})
HEADERLESS_SHARE = 0.95
HEADERLESS_ROWS = 5
SNIFF_LINES = 200
MAX_FIELD_CHARS = 8 * 1024**2

csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS))


@dataclass(frozen=True, slots=True)
class Layout:
    delimiter: str
    width: int  # the usual number of fields per row
    header_index: int | None  # row index (0-based, in records) of the header
    quoted: bool


def sniff_layout(head: str, strict: bool) -> Layout | None:
    """How `head` (the decoded start of the file) is laid out as a table, or None if it is not one."""
    lines = head.splitlines()
    if len(lines) > 1 and not head.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line may be cut short
    lines = [ln for ln in lines[:SNIFF_LINES] if ln.strip()]
    if len(lines) < 2:
        return None
    quoted = '"' in head
    best: tuple[float, int, str] | None = None
    for d in CANDIDATES:
        if d not in head:
            continue
        rows = _parse(lines, d, quoted)
        widths = Counter(len(r) for r in rows)
        width, count = widths.most_common(1)[0]
        if width < 2:
            continue
        share = count / len(rows)
        if best is None or (share, width) > (best[0], best[1]):
            best = (share, width, d)
    if best is None:
        return None
    share, width, d = best
    rows = _parse(lines, d, quoted)
    header = find_header(rows, width)
    headerless_table = d in NO_PROSE and share >= HEADERLESS_SHARE and len(rows) >= HEADERLESS_ROWS
    if strict and (share < 0.9 or width < 3 or (header is None and not headerless_table) or len(rows) < 3):
        return None
    if share < 0.6:
        return None
    return Layout(d, width, header, quoted)


def _parse(lines: list[str], delimiter: str, quoted: bool) -> list[list[str]]:
    try:
        return list(csv.reader(lines, **_dialect(delimiter, quoted)))
    except csv.Error:
        return [ln.split(delimiter) for ln in lines]


def _dialect(delimiter: str, quoted: bool) -> dict:
    if quoted:
        return {"delimiter": delimiter, "quotechar": '"', "doublequote": True, "skipinitialspace": False}
    return {"delimiter": delimiter, "quoting": csv.QUOTE_NONE}


def _lines(tf: TextIO, max_line: int) -> Iterator[str]:
    """Lines of at most `max_line` characters (an enormous line is cut, never loaded whole)."""
    readline = tf.readline
    while True:
        line = readline(max_line)
        if not line:
            return
        if "\x00" in line:
            line = line.replace("\x00", "")
        yield line


_MALFORMED = "csv.Error: malformed delimited text (unbalanced quotes or oversized field)"


def delimited_blocks(tf: TextIO, layout: Layout, ctx: Context) -> Iterator[Block]:
    """Rows of the text stream `tf` (opened with newline='') as TextBlock + TableBlocks."""
    reader = csv.reader(_lines(tf, ctx.limits.text_block_chars), **_dialect(layout.delimiter, layout.quoted))
    rows = map(tuple, reader)
    try:
        h = layout.header_index
        if h is None:
            header: tuple[str, ...] = ("",) * layout.width
            first_row = 1
        else:
            pre = [next(rows, ()) for _ in range(h)]
            text = rows_as_text(pre)
            if text:
                yield TextBlock(text, f"rows 1-{h}")
            header = clean_header(next(rows, ()))
            first_row = h + 2
        yield from chunk_rows([], rows, header, ctx, "", first_row)
    except csv.Error as e:  # raised by the reader as rows are taken
        raise ExtractError(_MALFORMED) from e


def head_text(data: bytes, encoding: str) -> str:
    """Decode a byte sample for sniffing (a cut character at the end becomes U+FFFD)."""
    return io.TextIOWrapper(io.BytesIO(data), encoding=encoding, errors="replace", newline="").read()
