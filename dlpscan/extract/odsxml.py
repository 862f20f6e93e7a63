"""OpenDocument spreadsheet content.xml read the way calamine reads it (calamine/src/ods.rs).

calamine matches elements and attributes by their qualified names as written (`table:table-row`,
not a namespace; odsns rewrites other prefixes for the sparse reader), takes a table only when it
has a `table:name`, repeats a row `table:number-rows-repeated` times and a cell
`table:number-columns-repeated` times (a Rust usize; any other text fails the workbook), and
takes a cell's value from its first `office:*-value` attribute or, for a string without one, from
the text of its paragraphs. `walk()` yields the same rows and cells, in file order, from
sheetxml's tokenizer; where calamine stops with an error it goes on (it may only see more than
calamine, never less).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from typing import NamedTuple

from dlpscan.extract import sheetxml

_TABLE, _ROW = b"table:table", b"table:table-row"
_CELLS = (b"table:table-cell", b"table:covered-table-cell")
_USIZE = re.compile(r"\+?[0-9]+")
_USIZE_MAX = 2**64 - 1
MAX_SPACES = 64  # spaces kept for one <text:s text:c>: the count is the file's, not its length


class Table(NamedTuple):
    name: str


class Row(NamedTuple):
    repeats: int  # as written: 0 is a row calamine still lays out once


class Cell(NamedTuple):
    repeats: int
    value: object  # None: calamine's Empty
    formula: bool
    size: int  # bytes calamine holds for one copy (value text and formula)


def walk(evs: Iterator[sheetxml.Event]) -> Iterator[Table | Row | Cell]:
    """A Table, then for each of its rows a Row followed by the row's cells."""
    for kind, name, data in evs:
        if kind == sheetxml.START and name == _TABLE:
            table = sheetxml.attribute(data, b"table:name")
            if table is not None:
                yield Table(_text(table))
                yield from _rows(evs)


def _rows(evs: Iterator[sheetxml.Event]) -> Iterator[Row | Cell]:
    for kind, name, data in evs:
        if kind == sheetxml.START and name == _ROW:
            yield Row(_count(sheetxml.attribute(data, b"table:number-rows-repeated"), True))
        elif kind == sheetxml.START and name in _CELLS:
            yield _cell(evs, name, data)
        elif kind == sheetxml.END and name == _TABLE:
            return
    raise sheetxml.Malformed("content.xml ends inside a table")  # calamine fails there too


def _count(raw: bytes | None, unescape: bool = False) -> int:
    """A repeat count as calamine parses it; 1 where it is missing or calamine's parse fails
    (then calamine reads nothing at all)."""
    if raw is None:
        return 1
    text = _text(raw) if unescape else raw.decode("utf-8", "replace")
    if not _USIZE.fullmatch(text) or len(text) > 21 or int(text) > _USIZE_MAX:
        return 1
    return int(text)


def _cell(evs: Iterator[sheetxml.Event], name: bytes, data: bytes) -> Cell:
    repeats = _count(sheetxml.attribute(data, b"table:number-columns-repeated"))
    value, string, formula = _attributes(data)
    spaces = 0
    if value is None and string:
        value, spaces = _paragraphs(evs)
    else:
        _skip(evs, name)
    size = (_bytes(value) if isinstance(value, str) else 0) + spaces + _bytes(formula)
    return Cell(repeats, value, bool(formula), size)


def _bytes(text: str) -> int:
    """What calamine holds for `text` (UTF-8)."""
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def _attributes(data: bytes) -> tuple[object, bool, str]:
    """(value, whether the cell is a string without one, formula), as calamine's get_datatype."""
    value: object = None
    string = False
    formula = ""
    for key, raw in sheetxml.attributes(data):
        if key == b"table:formula":
            formula = _text(raw)
        elif value is not None:
            continue
        elif key == b"office:value":
            value = _float(raw)
        elif key in (b"office:string-value", b"office:time-value"):
            value = _text(raw)
        elif key == b"office:date-value":
            value = _date(_text(raw))
        elif key == b"office:boolean-value":
            value = raw in (b"TRUE", b"true")
        elif key == b"office:value-type":
            string = raw == b"string"
    return value, string, formula


def _paragraphs(evs: Iterator[sheetxml.Event]) -> tuple[str, int]:
    """The cell's text up to its end (paragraphs joined by newlines, <text:s> as spaces) and the
    spaces calamine adds beyond MAX_SPACES."""
    parts: list[str] = []
    first = True
    spaces = 0
    for kind, name, data in evs:
        if kind == sheetxml.TEXT:
            parts.append(_text(data))
        elif kind == sheetxml.END and name in _CELLS:
            break
        elif kind == sheetxml.START and name == b"text:p":
            parts.append("" if first else "\n")
            first = False
        elif kind == sheetxml.START and name == b"text:s":
            count = _count(sheetxml.attribute(data, b"text:c"), True)
            parts.append(" " * min(count, MAX_SPACES))
            spaces += max(count - MAX_SPACES, 0)
    return "".join(parts), spaces


def _skip(evs: Iterator[sheetxml.Event], name: bytes) -> None:
    """Past the end of the element `name` just started (quick-xml's read_to_end)."""
    depth = 1
    for kind, n, _ in evs:
        if n == name and kind in (sheetxml.START, sheetxml.END):
            depth += 1 if kind == sheetxml.START else -1
            if not depth:
                return


def _text(raw: bytes) -> str:
    return html.unescape(raw.decode("utf-8", "replace"))


def _float(raw: bytes) -> object:
    text = raw.decode("utf-8", "replace")
    try:
        return float(text)
    except ValueError:
        return text


def _date(text: str) -> object:
    """A date-value as python-calamine returns it: a date, a datetime, or the text."""
    try:
        return dt.date.fromisoformat(text) if "T" not in text else dt.datetime.fromisoformat(text)
    except ValueError:
        return text
