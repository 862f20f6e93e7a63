"""xlsx/xlsm checks made before calamine opens the package.

calamine lays a worksheet out densely, from its first to its last non-empty cell
(Range::from_sparse): a cell at A1 and one at XFD1048576 make 17 billion cells (549 GB), and an
allocation that fails aborts the whole process, taking the sheet near A1 with it. It also
reserves the shared-string table from its declared `uniqueCount` before reading a string. Both
sizes come from the file, not from its length.

So every member of the package is streamed once (within the archive limits: calamine may be
pointed at any of them as a sheet) and the cell references calamine would place cells at, after
a member's `sheetData`, are bounded. The usual sheet is settled by byte counts and searches over
each piece: every `<c` tag starts `<c r="`, every attribute is written `key="…"`, and no
`r="…"` reference lies beyond a rectangle of `max_cells_per_sheet` cells sized from the first
piece's columns. A sheet that does not fit that shape is walked as calamine walks it
(sheetxml.cells).
"""

from __future__ import annotations

import functools
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from dlpscan import extensions
from dlpscan.extract import sheetxml
from dlpscan.extract.archive import Budget, limited_read, overlapping, zip_or_none
from dlpscan.extract.errors import LimitExceeded
from dlpscan.extract.limits import Limits
from dlpscan.extract.source import Source

SPREAD = "a sheet whose cells span more than the cell limit"
STRINGS = "a shared-string table declaring more strings than it can hold"
UNCHECKED = "a workbook part that cannot be checked within the limits"
EXCEL_ROWS, EXCEL_COLUMNS = 1_048_576, 16_384
# A <c> tag whose reference may not come first: `<c ` not followed by `r="`, or `<c` and white
# space other than a space, `/` or `>` (one search led by "<c", not counts of both forms).
_ODD_CELL = re.compile(rb'<c(?: (?!r=")|[\t\n\r/>])')
_LOOSE_EQUALS = re.compile(rb'=(?!")')  # an '=' not followed by '"'
_PREFIXED_CELL = re.compile(rb":c[\t\n\r />]")
_SPACES = bytes.maketrans(b"\t\r\n", b"   ")
_SPACE_EQUALS = re.compile(rb" =")  # re's literal search: bytes' own `in` took 2.5x as long (spaces abound)
_OVERLAP = 64  # "sheetData" and a uniqueCount calamine can parse (20 digits) fit in it
_COLUMNS = re.compile(rb'r="([A-Za-z]+)[0-9]+"')
_UNIQUE = re.compile(rb"""uniqueCount\s*=\s*["']([0-9]{1,20})(?![0-9])""")  # longer: no usize
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError)
STRINGS_OVER, IRREGULAR = 1, 2  # _piece_flags' answer (as _xlsxscan's)


class _Unchecked(Exception):
    """The part cannot be bounded the way calamine will read it."""


class _Found(Exception):
    """calamine would allocate beyond the limits: the reason is the message."""


def allocation_problem(src: Source, limits: Limits) -> str | None:
    """Why calamine must not open this xlsx/xlsm package, or None. Not a zip: None (calamine
    reports what it is)."""
    with zip_or_none(src) as zf:
        if zf is None:
            return None
        infos = [i for i in zf.infolist() if not i.is_dir() and not i.flag_bits & 0x1]
        if overlapping(infos):
            return UNCHECKED
        budget = Budget(limits, src.size)
        try:
            for info in infos:
                _check_member(zf, info, budget)
        except _Found as e:
            return str(e)
        except (_Unchecked, LimitExceeded):
            return UNCHECKED
    return None


def declares_too_many_strings(data: bytes, part_bytes: int, limits: Limits) -> bool:
    """Does the part `data` (its zip entry's size `part_bytes`) declare a shared-string table larger
    than the pre-flight lets calamine reserve (STRINGS)?"""
    strings = _strings_allowed(part_bytes, limits)
    return b"uniqueCount" in data and any(int(m[1]) > strings for m in _UNIQUE.finditer(data))


def _strings_allowed(part_bytes: int, limits: Limits) -> int:
    return min(max(part_bytes // 4, 1024), limits.max_cells_per_sheet)


def _check_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget) -> None:
    if info.file_size > budget.limits.max_member_bytes:
        raise _Unchecked
    strings = _strings_allowed(info.file_size, budget.limits)
    try:
        with zf.open(info) as stream:
            settled = _settled(limited_read(stream, budget, info.compress_size), budget.limits, strings)
        if not settled:
            with zf.open(info) as stream:
                _walk(limited_read(stream, budget, info.compress_size), budget.limits, strings)
    except NotImplementedError:  # a compression method zipfile lacks (calamine's reader may have it)
        raise _Unchecked from None
    except _READ_ERRORS:
        return  # a member zipfile cannot inflate: calamine's reader fails on it too


def _pieces(read: Callable[[int], bytes]) -> Iterator[tuple[bytes, bool]]:
    """(piece, whole): the member cut just before a '<', so that no tag (nor a reference in one)
    is split (whole = True); where no '<' comes within MAX_TOKEN bytes, cut anywhere but the
    last _OVERLAP bytes, which are read again with the next piece (whole = False)."""
    carry = b""
    while True:
        data = read(sheetxml.CHUNK)
        buf = carry + data
        cut = buf.rfind(b"<") if data else len(buf)
        if cut <= 0 and data:
            if len(buf) <= sheetxml.MAX_TOKEN:
                carry = buf
                continue
            yield buf, False
            carry = buf[-_OVERLAP:]
            continue
        yield buf[:cut], True
        carry = buf[cut:]
        if not data:
            return


def _settled(read: Callable[[int], bytes], limits: Limits, strings: int) -> bool:
    """True when the member is shown safe from byte counts and searches alone; False when it
    has to be walked. calamine places cells only after a <sheetData> tag: images and other
    parts without one are checked for shared-string counts only."""
    compiled = extensions.load("dlpscan.extract._xlsxscan")
    bounds: Bounds | None = None
    for piece, whole in _pieces(read):
        start = 0
        if bounds is None and (at := piece.find(b"sheetData")) >= 0:
            start, bounds = at, _bounds(_first_width(piece[at:]), limits.max_cells_per_sheet)
        if compiled is not None:
            shape = (bounds.columns, len(bounds.rows), int(bounds.rows[0])) if bounds else (0, 0, 0)
            flags = compiled.piece_flags(piece, start, strings, *shape)
        else:
            flags = _piece_flags(piece, start, strings, bounds)
        if flags & STRINGS_OVER:
            raise _Found(STRINGS)
        if bounds is not None and (not whole or flags & IRREGULAR):
            return False
    return True


def _piece_flags(piece: bytes, start: int, strings: int, bounds: Bounds | None) -> int:
    """STRINGS_OVER: the piece declares a shared-string table of more than `strings`; IRREGULAR: from
    `start` on, it has an unusual form or a reference beyond `bounds` (None: not looked for). The
    reference of `_xlsxscan.piece_flags`, which answers alike in one pass."""
    flags = STRINGS_OVER if any(int(m[1]) > strings for m in _UNIQUE.finditer(piece)) else 0
    if bounds is not None:
        tail = piece[start:]
        if _unusual(tail) or bounds.pattern.search(tail):
            flags |= IRREGULAR
    return flags


def _unusual(piece: bytes) -> bool:
    """Could calamine place a cell of this piece other than by an r="…" reference that a search
    finds? A cell placed by calamine's counters, not by its reference (a tag without one first,
    a prefixed tag), or an attribute not written key="…"."""
    return bool(
        _ODD_CELL.search(piece)
        or _PREFIXED_CELL.search(piece)
        or _LOOSE_EQUALS.search(piece)
        or _spaced_equals(piece)
    )


def _spaced_equals(piece: bytes) -> bool:
    """Is there white space right before an '='? (Tabs and line breaks are rare in a worksheet
    after its first line: most pieces need no copy with them made spaces.)"""
    if b"\t" in piece or b"\r" in piece or b"\n" in piece:
        piece = piece.translate(_SPACES)
    return _SPACE_EQUALS.search(piece) is not None


def _first_width(piece: bytes) -> int:
    return max(map(sheetxml.column, set(_COLUMNS.findall(piece))), default=0)


@dataclass(frozen=True)
class Bounds:
    """The rectangle a sheet's references must stay in: `columns` columns and `rows` rows (as
    digits). A reference is beyond the rows from the rows rounded down to one significant digit on
    (the number of digits and the first digit: a shorter search)."""

    columns: int
    rows: str

    @functools.cached_property
    def pattern(self) -> re.Pattern[bytes]:
        """Any r="…" reference outside the rectangle."""
        return re.compile(
            rb'r="(?:(?:%s)[0-9]|[A-Za-z]+(?:[0-9]{%d,}|[%s-9][0-9]{%d})")'
            % (
                _letters_above(self.columns).encode(),
                len(self.rows) + 1,
                self.rows[0].encode(),
                len(self.rows) - 1,
            )
        )


def _bounds(width: int, max_cells: int) -> Bounds:
    """Columns x rows <= max_cells: the columns are at least those that leave Excel's full 1,048,576
    rows within the limit and at most Excel's 16,384."""
    columns = min(max(width, max_cells // EXCEL_ROWS, 1), EXCEL_COLUMNS)
    return Bounds(columns, str(max(max_cells // columns, 1)))


def _letters_above(n: int) -> str:
    """A regular expression for column letters (either case) whose column is after column `n`."""
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    alternatives = [f"[A-Za-z]{{{len(s) + 1},}}"]
    for i, ch in enumerate(s):
        if ch != "Z":
            nxt = chr(ord(ch) + 1)
            same = "".join(f"[{c}{c.lower()}]" for c in s[:i])
            alternatives.append(f"{same}[{nxt}-Z{nxt.lower()}-z][A-Za-z]{{{len(s) - i - 1}}}")
    return "|".join(alternatives)


def _walk(read: Callable[[int], bytes], limits: Limits, strings: int) -> None:
    """Walk the part as calamine does; raise _Found once its cells span more than the limit."""
    top = left = 1 << 32  # above any position (u32)
    bottom = right = -1
    try:
        for row, col, _ in sheetxml.cells(_watched(sheetxml.events(read), strings)):
            top, bottom, left, right = min(top, row), max(bottom, row), min(left, col), max(right, col)
            if (bottom - top + 1) * (right - left + 1) > limits.max_cells_per_sheet:
                raise _Found(SPREAD)
    except sheetxml.TooLong:
        raise _Unchecked from None
    except sheetxml.Malformed:
        return  # calamine's parser stops here as well: nothing after it is laid out


def _watched(evs: Iterator[sheetxml.Event], strings: int) -> Iterator[sheetxml.Event]:
    """The events, checking shared-string tables on the way. A document type declaration is
    refused: quick-xml delimits it by rules of its own, so what follows could be read apart."""
    for event in evs:
        kind, name, data = event
        if kind == sheetxml.DOCTYPE:
            raise _Unchecked
        if kind == sheetxml.START and sheetxml.local(name) == b"sst":
            count = sheetxml.attribute(data, b"uniqueCount") or b""
            if count.isdigit() and len(count) <= 20 and int(count) > strings:
                raise _Found(STRINGS)
        yield event
