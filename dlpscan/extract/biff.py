"""BIFF (xls workbook stream) records that would make calamine abort, neutralised before it reads them.

calamine parses every sheet when it opens an xls file. For each sheet it reserves room for the
cells its Dimensions record declares (rows x columns in wrapping 32-bit arithmetic: a last row
before the first is four billion rows) and lays the cells out densely over the rectangle from the
first to the last cell position any record names (columns are 16-bit: 65,536 of them, not
Excel's 256). Both sizes come from the file, not from its length, and an allocation that fails
aborts the whole process. It also walks each sheet from the offset its BoundSheet record gives,
so sheets pointing into one another make it (and the scan) read the stream many times over.

So the records are walked here first, the way calamine walks them (sheets from their BoundSheet
offsets, Continue records joined to the record before, nested substreams skipped). Records
outside what the format allows (BIFF8: 65,536 rows, 256 columns) are given a record type both
calamine and xlrd skip, as are BoundSheet records whose sheet overlaps one before it, in a copy of
the file; calamine reads the copy. Every sheet is then at most 65,536 x 256 cells, and the stream
is walked once.
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from collections.abc import Iterator

from dlpscan.extract import cfb
from dlpscan.extract.source import Source

WORKBOOK_STREAMS = ("Workbook", "Book", "WORKBOOK", "BOOK")  # calamine's order
_BOF, _EOF, _BOUNDSHEET = 0x0809, 0x000A, 0x0085
_DIMENSIONS, _FORMULA, _MULRK = 0x0200, 0x0006, 0x00BD
_CELLS = frozenset((0x0203, 0x0204, 0x00D6, 0x0205, 0x027E, 0x00FD, _FORMULA))  # row, column first
_SKIPPED = 0x0868  # RangeProtection: a record type calamine and xlrd both pass over
_MAX_ROWS, _MAX_COLS = 65_536, 256
_U32 = 0xFFFFFFFF

UNFIXABLE = "workbook records that calamine would size from (rewritten, they still are)"


def sanitized(src: Source) -> bytes | None:
    """A copy of the xls file with the records calamine must not see neutralised, or None when it
    has none. Raises ValueError when calamine's input cannot be predicted or made safe.
    Assumes cfb.allocation_problem() passed."""
    try:
        stream = cfb.stream(src, WORKBOOK_STREAMS)
    except cfb.Unpredictable:
        raise ValueError("compound file stream that calamine would read from outside its layout") from None
    if stream is None:
        return None  # calamine reports the missing stream itself
    offsets = _unsafe_records(stream.data)
    if not offsets:
        return None
    with src.open() as f:
        data = bytearray(f.read())
    patched = bytearray(stream.data)
    for offset in offsets:
        for i, byte in enumerate(struct.pack("<H", _SKIPPED)):
            data[stream.file_offset(offset + i)] = byte
            patched[offset + i] = byte
    if _unsafe_records(bytes(patched)):  # a patch changed how the stream parses: give up
        raise ValueError(UNFIXABLE)
    return bytes(data)


def _unsafe_records(data: bytes) -> list[int]:
    """Stream offsets of the records to neutralise: out-of-range cells and dimensions, and
    BoundSheet records whose sheet calamine would walk over a part of the stream already walked."""
    bad: list[int] = []
    starts: list[int] = []  # walked parts of the stream, disjoint, sorted
    ends: list[int] = []
    for record, pos in _sheets(data):
        i = bisect_right(starts, pos)
        if i and pos < ends[i - 1]:
            bad.append(record)
            continue
        ahead = starts[i] if i < len(starts) else len(data) + 1
        end, cells, overlaps = _walk(data, pos, ahead)
        starts.insert(i, pos)  # an overlapping walk is marked too, so no part is walked twice here
        ends.insert(i, max(end, pos + 1))
        bad.extend([record] if overlaps else cells)
    return bad


def _records(data: bytes, pos: int) -> Iterator[tuple[int, int, int, int]]:
    """(offset, type, data offset, data length) of each record from `pos`, as calamine's RecordIter
    yields them: Continue records after a record are swallowed by it; a truncated record ends it."""
    end = len(data)
    while pos + 4 <= end:
        at = pos
        typ, length = struct.unpack_from("<HH", data, pos)
        start, pos = pos + 4, pos + 4 + length
        if pos > end:
            return
        if end - pos > 4 and data[pos : pos + 2] == b"\x3c\x00":
            while end - pos > 4 and data[pos : pos + 2] == b"\x3c\x00":
                (cont,) = struct.unpack_from("<H", data, pos + 2)
                if pos + 4 + cont > end:
                    return
                pos += 4 + cont
        yield at, typ, start, length


def _sheets(data: bytes) -> Iterator[tuple[int, int]]:
    """(record offset, sheet offset) of the BoundSheet records before the globals' EOF."""
    for at, typ, start, length in _records(data, 0):
        if typ == _EOF:
            return
        if typ == _BOUNDSHEET and length >= 4:
            (pos,) = struct.unpack_from("<I", data, start)
            if pos <= len(data):  # beyond: calamine panics slicing the stream (caught)
                yield at, pos


def _walk(data: bytes, pos: int, ahead: int) -> tuple[int, list[int], bool]:
    """Walk the sheet at `pos` as calamine does: (end offset, offsets of records out of range,
    whether the walk reached offset `ahead`, the start of a sheet already walked)."""
    bad: list[int] = []
    seen_bof, depth, end = False, 0, pos
    for at, typ, start, length in _records(data, pos):
        if at >= ahead:
            return end, bad, True
        end = start + length
        if depth:
            depth += (typ == _BOF) - (typ == _EOF)
            continue
        if typ == _BOF:
            depth, seen_bof = (depth + 1 if seen_bof else depth), True
        elif typ == _EOF:
            break
        elif typ == _DIMENSIONS:
            rows, cols = _declared(data[start:end])
            if rows > _MAX_ROWS or cols > _MAX_COLS:
                bad.append(at)
        elif typ in _CELLS and length >= 4:
            if struct.unpack_from("<H", data, start + 2)[0] >= _MAX_COLS:
                bad.append(at)
        elif typ == _MULRK and length >= 6:
            (first,) = struct.unpack_from("<H", data, start + 2)
            (last,) = struct.unpack_from("<H", data, end - 2)
            if not first <= last < _MAX_COLS or (length - 6) // 6 > _MAX_COLS:
                bad.append(at)  # calamine's u16 column arithmetic wraps: any column
    return end, bad, False


def _declared(r: bytes) -> tuple[int, int]:
    """(rows, columns) calamine reserves for a Dimensions record (parse_dimensions, wrapping)."""
    if len(r) == 10:
        rf, rl, cf, cl = struct.unpack_from("<HHHH", r)
    elif len(r) == 14:
        rf, rl, cf, cl = struct.unpack_from("<IIHH", r)
    else:
        return 0, 0  # calamine stops with an error
    if cf > 0xFF or cl < cf:
        cf = 0
    if rl < 1 or cl < 1:
        return 1, 1
    return ((rl - 1) - rf + 1) & _U32, ((cl - 1) - cf + 1) & _U32
