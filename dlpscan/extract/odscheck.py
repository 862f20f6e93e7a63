"""ods checks made before calamine opens the package.

calamine reads every table of content.xml when it opens the workbook and holds them all. Each is
laid out densely from its first to its last non-empty row, every row as wide as the widest
(repeated empty rows between included), with a formula table of the same shape; repeated
non-empty cells and rows are copied, strings included. A value at A1 and one 16,000 columns and
5,000 repeated rows away make 80 million cells (2.5 GB) from 1 KB, and an allocation that fails
aborts the whole process.

So content.xml is streamed once (within the archive limits) through calamine's own reading of it
(odsxml) and two sums are bounded, over all tables: the rectangles from column A to the widest
row's last non-empty cell (at least calamine's, which starts at the first non-empty column) by
`max_cells_per_sheet`, and the characters of the copied strings by `max_member_bytes`.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator

from dlpscan.extract import odsxml, sheetxml
from dlpscan.extract.archive import Budget, limited_read, overlapping
from dlpscan.extract.errors import LimitExceeded
from dlpscan.extract.limits import Limits
from dlpscan.extract.source import Source
from dlpscan.extract.xlsxcheck import SPREAD, UNCHECKED

CONTENT = "content.xml"
TEXT = "a sheet whose repeated strings add up to more than the limit"
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError)


class _Found(Exception):
    """calamine would allocate beyond the limits: the reason is the message."""


class _Unchecked(Exception):
    """The part cannot be bounded the way calamine will read it."""


class _Tables:
    """The cells and characters calamine lays out for the tables read so far."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.done_cells = self.text = 0
        self._table()

    def _table(self) -> None:
        self.rows = self.width = 0  # rows read (repeats counted); widest non-empty row
        self.first: int | None = None  # the first non-empty row
        self.end = 0  # the row after the last non-empty one

    def table(self) -> None:
        self.done_cells += self.cells()
        self._table()

    def cells(self) -> int:
        return (self.end - self.first) * self.width if self.first is not None else 0

    def row(self, repeats: int, width: int, text: int) -> None:
        """A row laid out `repeats` times (once at least), its last non-empty cell at `width`."""
        repeats = max(repeats, 1)
        if width:
            self.first = self.rows if self.first is None else self.first
            self.end, self.width = self.rows + repeats, max(self.width, width)
            self.text += text * repeats
        self.rows += repeats
        if self.done_cells + self.cells() > self.limits.max_cells_per_sheet:
            raise _Found(SPREAD)
        if self.text > self.limits.max_member_bytes:
            raise _Found(TEXT)


def allocation_problem(src: Source, limits: Limits) -> str | None:
    """Why calamine must not open this ods package, or None. Not a zip or no content.xml: None
    (calamine reports what it is)."""
    with src.open() as f:
        try:
            zf = zipfile.ZipFile(f)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            return None
        with zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            info = next((i for i in infos if i.filename == CONTENT), None)
            if info is None or info.flag_bits & 0x1:
                return None
            if overlapping(infos) or info.file_size > limits.max_member_bytes:
                return UNCHECKED
            try:
                with zf.open(info) as stream:
                    read = limited_read(stream, Budget(limits, src.size), info.compress_size)
                    _measure(sheetxml.events(read), limits)
            except _Found as e:
                return str(e)
            except (_Unchecked, sheetxml.TooLong, LimitExceeded, NotImplementedError):
                return UNCHECKED
            except (sheetxml.Malformed, *_READ_ERRORS):
                return None  # calamine's reader fails there too, before laying anything more out
    return None


def _measure(evs: Iterator[sheetxml.Event], limits: Limits) -> None:
    """Raise _Found once the tables read so far exceed a limit."""
    tables = _Tables(limits)
    width = text = column = 0
    repeats: int | None = None
    for item in odsxml.walk(_refusing_doctype(evs)):
        if isinstance(item, odsxml.Cell):
            column += item.repeats
            if item.value is not None or item.formula:
                width, text = column, text + item.size * item.repeats
            continue
        if repeats is not None:
            tables.row(repeats, width, text)
        width = text = column = 0
        repeats = item.repeats if isinstance(item, odsxml.Row) else None
        if isinstance(item, odsxml.Table):
            tables.table()
    if repeats is not None:
        tables.row(repeats, width, text)


def _refusing_doctype(evs: Iterator[sheetxml.Event]) -> Iterator[sheetxml.Event]:
    """quick-xml delimits a document type declaration by rules of its own: what follows could be
    read apart, so such a file is not checked."""
    for event in evs:
        if event[0] == sheetxml.DOCTYPE:
            raise _Unchecked
        yield event
