"""The usual ods content.xml bounded from searches over whole rows, not token by token (odscheck).

content.xml is cut into pieces just before a row start. A piece is settled when every table start,
table end, row start and row end written in it is one match of _ITEM, which tokenises as quick-xml
does (a tag ends at the first '>' outside quotes; no comment, CDATA section or processing
instruction that could hide or fake a tag). A row's width is then bounded by its cell tags and
repeat counts, leaving out the empty cells that end it (calamine lays none of them out), and its
strings by its length in bytes and <text:s> spaces (an entity decodes shorter than it is
written): never below calamine's, so a workbook whose bounds fit the Layout fits for calamine. A
piece that does not settle, or bounds that do not fit, send content.xml to the walk."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from dlpscan.extract import odsns, sheetxml
from dlpscan.extract.odslayout import Beyond, Layout

# Possessive runs, greedy groups: Python 3.11.2 (Debian 12's python3) mismatches a possessive
# repeat of a group with alternatives (a CPython bug fixed in later 3.11 releases). The
# alternatives start with different characters and each run is possessive, so the greedy group
# gives back at most one item at a time (linear).
_TAG = rb"(?:[^>\"']++|\"[^\"]*+\"|'[^']*+')*"  # a tag's inside, quoted values kept whole
_ROW_TAG = rb"table:table-row(?=[ \t\r\n/>])"
_ITEM = re.compile(
    rb"<table:table(?=[ \t\r\n/>])(?P<table>" + _TAG + rb")>"
    rb"|</table:table[ \t\r\n]*>"
    rb"|<" + _ROW_TAG + rb"(?P<attrs>" + _TAG + rb")>"
    rb"(?:(?<=/>)|(?P<body>(?:[^<]++|<(?!/?" + _ROW_TAG + rb")" + _TAG + rb">)*)</table:table-row>)"
)
_COUNTS = [
    re.compile(p)
    for p in (
        rb"<table:table(?=[ \t\r\n/>])",
        rb"</table:table[ \t\r\n>]",
        rb"<" + _ROW_TAG,
        rb"</table:table-row",
    )
]
_TRICKY = re.compile(rb"<[!?]")
_DECLARATION = re.compile(rb"<\?xml[^<>]*\?>")
_ROOT = re.compile(rb"[ \t\r\n]*<(?![!?/])[^ \t\r\n/>]*(?P<attrs>" + _TAG + rb")>")
_EMPTY_CELL = re.compile(  # a cell calamine reads as Empty (style and repeats only), self-closed
    rb'<table:table-cell(?:[ \t\r\n]+table:(?:style-name="[^"<>]*"|number-columns-repeated="[0-9]+"))*'
    rb"[ \t\r\n]*/>"
)
_NUMBER = rb"[ \t\r\n]*=[ \t\r\n]*(?:\"([^\"]*)\"|'([^']*)')"
_COLUMNS = re.compile(rb"table:number-columns-repeated" + _NUMBER)
_ROWS = re.compile(rb"table:number-rows-repeated" + _NUMBER)
_SPACES = re.compile(rb"text:c" + _NUMBER)
_DIGITS = re.compile(rb"\+?[0-9]+")


class _Unsettled(Exception):
    """The piece is not written so that searches bound it."""


def within(read: Callable[[int], bytes], layout: Layout) -> bool:
    """True when content.xml is shown within the layout's limits by searches alone."""
    try:
        for piece in _pieces(read):
            _settle(piece, layout)
    except (_Unsettled, Beyond, odsns.Renamed):
        return False
    return True


def _pieces(read: Callable[[int], bytes]) -> Iterator[bytes]:
    """The document cut just before a row start; the XML declaration and the root start tag left
    out (raises Renamed when the root binds an OpenDocument namespace to another prefix)."""
    carry, first = b"", True
    while True:
        data = read(sheetxml.CHUNK)
        buf = carry + data
        if first:
            buf, first = _after_root(buf), False
        cut = buf.rfind(b"<table:table-row") if data else len(buf)
        if cut <= 0 and data:
            if len(buf) > sheetxml.MAX_TOKEN:
                raise _Unsettled  # a row longer than the limit: walked
            carry = buf
            continue
        yield buf[:cut]
        carry = buf[cut:]
        if not data:
            return


def _after_root(buf: bytes) -> bytes:
    """The first piece without its XML declaration and root start tag, once the root is checked."""
    buf = buf[m.end() :] if (m := _DECLARATION.match(buf)) else buf
    if (m := _ROOT.match(buf)) is None:
        return buf  # a namespace declaration after this leaves the piece unsettled
    odsns.check(m["attrs"])
    return buf[m.end() :]


def _settle(piece: bytes, layout: Layout) -> None:
    if _TRICKY.search(piece) or b"xmlns" in piece:
        raise _Unsettled  # xmlns: a namespace declared below the root is walked
    items = 0
    for m in _ITEM.finditer(piece):
        table, attrs, body = m.group("table", "attrs", "body")
        items += 1 if body is None else 2  # a start tag, and an end tag for a row with a body
        if table is not None:
            layout.table()
        elif attrs is not None:
            repeats = max(_numbers(_ROWS, attrs), default=1) if b"repeated" in attrs else 1
            layout.row(repeats, *_row(body or b""))
    if items != sum(len(p.findall(piece)) for p in _COUNTS):
        raise _Unsettled  # a tag the searches did not see as quick-xml does


def _row(body: bytes) -> tuple[int, int]:
    """(width, string bytes) bounds of one row's cells."""
    body = _without_empty_end(body)
    cells = body.count(b"<table:table-cell") + body.count(b"<table:covered-table-cell")
    if not cells:
        return 0, 0
    if b"repeated" not in body and b"text:c" not in body:
        return cells, len(body)
    repeats = _numbers(_COLUMNS, body)
    width = cells + sum(r - 1 for r in repeats if r)
    return width, (len(body) + sum(_numbers(_SPACES, body))) * max(repeats, default=1)


def _without_empty_end(body: bytes) -> bytes:
    """The row's body without the empty cells that end it (often repeated to the grid's end)."""
    while body.endswith(b"/>"):
        at = body.rfind(b"<")
        if _EMPTY_CELL.fullmatch(body, at) is None:
            break
        body = body[:at]
    return body


def _numbers(pattern: re.Pattern[bytes], data: bytes) -> list[int]:
    """The values of one attribute wherever written; one calamine would not parse as it is
    written here (an entity, a sign or text) is left to the walk."""
    out = []
    for m in pattern.finditer(data):
        raw = m[1] if m[1] is not None else m[2]
        if not _DIGITS.fullmatch(raw):
            raise _Unsettled
        out.append(int(raw))
    return out
