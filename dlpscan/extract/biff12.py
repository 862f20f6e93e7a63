"""xlsb parts read the way calamine reads them (calamine/src/xlsb): BIFF12 records, the
worksheets of workbook.bin and their cells.

calamine finds a worksheet at "xl/" + the target its BrtBundleSh record's relationship names, and
places each cell record after BrtBeginSheetData at the row of the last BrtRowHdr and the column
the record gives (any u32), until BrtEndSheetData or a row beyond Excel's. `cells()` follows the
same rules, so the positions it yields are those calamine lays out.
"""

from __future__ import annotations

import html
import struct
from collections.abc import Callable, Iterator, Sequence

from dlpscan.extract import sheetxml

Record = tuple[int, bytes]  # (type, data)
_ROW_HEADER, _BEGIN_DATA, _END_DATA, _SHEET, _STRING_ITEM = 0x00, 0x91, 0x92, 0x9C, 0x13
_LAST_ROW = 0x10_0000
_RELS = "xl/_rels/workbook.bin.rels"


class Malformed(sheetxml.Malformed):
    """A record breaks off (calamine stops there too)."""


class TooLong(Malformed):
    """A record is longer than MAX_TOKEN (calamine would read on)."""


def records(read: Callable[[int], bytes]) -> Iterator[Record]:
    """The records of a part, read piece by piece; a record that breaks off raises Malformed."""
    buf, pos = b"", 0
    while True:
        if len(buf) - pos < 16:  # type and length take at most 6 bytes
            more = read(sheetxml.CHUNK)
            buf, pos = buf[pos:] + more, 0
            if not buf:
                return
        typ, pos = _varint(buf, pos, 2)
        size, pos = _varint(buf, pos, 4)
        if size > sheetxml.MAX_TOKEN:
            raise TooLong("record longer than the limit")
        while len(buf) - pos < size:
            more = read(max(sheetxml.CHUNK, size))
            if not more:
                raise Malformed("record breaks off")
            buf, pos = buf[pos:] + more, 0
        yield typ, buf[pos : pos + size]
        pos += size


def _varint(buf: bytes, pos: int, most: int) -> tuple[int, int]:
    value = 0
    for i in range(most):
        if pos >= len(buf):
            raise Malformed("record breaks off")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << (7 * i)
        if not b & 0x80:
            break
    return value, pos


def wide(data: bytes, at: int = 0) -> tuple[str, int] | None:
    """An XLWideString at `at` and the offset after it; None where it does not fit."""
    if len(data) < at + 4:
        return None
    (count,) = struct.unpack_from("<I", data, at)
    end = at + 4 + 2 * count
    if end > len(data):
        return None
    return data[at + 4 : end].decode("utf-16-le", "replace"), end


def worksheets(read: Callable[[str], Callable[[int], bytes] | None]) -> Iterator[tuple[str, str]]:
    """(name, member path) of each worksheet, in workbook order, as calamine resolves them;
    `read(path)` opens a member."""
    targets = _relationships(read(_RELS))
    book = read("xl/workbook.bin")
    if book is None:
        return
    for typ, data in records(book):
        if typ == _SHEET and len(data) >= 12:
            rel = wide(data, 8)
            sheet = wide(data, rel[1]) if rel else None
            if rel and sheet and rel[0] in targets:
                yield sheet[0], "xl/" + targets[rel[0]]


def _relationships(read: Callable[[int], bytes] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    if read is None:
        return out
    try:
        for kind, name, data in sheetxml.events(read):
            if kind == sheetxml.START and sheetxml.local(name) == b"Relationship":
                attrs = dict(sheetxml.attributes(data))
                if b"Id" in attrs and b"Target" in attrs:
                    out[_text(attrs[b"Id"])] = _text(attrs[b"Target"])
    except sheetxml.Malformed:
        pass
    return out


def _text(raw: bytes) -> str:
    return html.unescape(raw.decode("utf-8", "replace"))


def cells(recs: Iterator[Record], strings: Sequence[str] = ()) -> Iterator[tuple[int, int, object]]:
    """(row, column, value) of every cell record calamine reads, in file order; an error cell's
    value is None."""
    for typ, _ in recs:
        if typ == _BEGIN_DATA:
            break
    row = 0
    for typ, data in recs:
        if typ == _ROW_HEADER and len(data) >= 4:
            (row,) = struct.unpack_from("<I", data)
            if row > _LAST_ROW:
                return
        elif typ == _END_DATA:
            return
        elif 0x02 <= typ <= 0x0A and len(data) >= 8:
            yield row, struct.unpack_from("<I", data)[0], _value(typ, data, strings)


def _value(typ: int, data: bytes, strings: Sequence[str]) -> object:
    if typ in (0x04, 0x0A):
        return data[8:9] not in (b"", b"\0")
    if typ in (0x05, 0x09) and len(data) >= 16:
        return struct.unpack_from("<d", data, 8)[0]
    if typ in (0x06, 0x08):
        text = wide(data, 8)
        return text[0] if text else None
    if typ == 0x07 and len(data) >= 12:
        (index,) = struct.unpack_from("<I", data, 8)
        return strings[index] if index < len(strings) else None
    if typ == 0x02 and len(data) >= 12:
        return _rk(struct.unpack_from("<I", data, 8)[0])
    return None


def _rk(raw: int) -> float | int:
    """An RK number (MS-XLSB 2.5.122): an integer or the high bits of a double, maybe / 100."""
    if raw & 2:
        value: float | int = struct.unpack("<i", struct.pack("<I", raw & ~3))[0] >> 2
    else:
        value = struct.unpack("<d", struct.pack("<Q", (raw & ~3) << 32))[0]
    return value / 100 if raw & 1 else value


def strings(recs: Iterator[Record]) -> Iterator[str]:
    """The shared strings of sharedStrings.bin, in order (BrtSSTItem: flags, then the text)."""
    for typ, data in recs:
        if typ == _STRING_ITEM:
            text = wide(data, 1)
            yield text[0] if text else ""
