"""xlsx/xlsm workbooks calamine must not open (xlsxcheck), read sparsely: only the cells present.

The package is resolved as calamine resolves it (the office document from `_rels/.rels`, the
sheets from `workbook.xml` and its relationships) and each worksheet is streamed through
sheetxml, so memory follows the cells present and time the file's length. Cells keep their
columns and rows, except that a gap of more than MAX_GAP empty columns (or rows) is closed to
MAX_GAP: a value at XFD1048576 is read a few columns right of the last value before it, under no
header, instead of across 17 billion empty cells. Numbers stay numbers (no date formats).
"""

from __future__ import annotations

import html
import posixpath
import zipfile
import zlib
from collections.abc import Callable, Iterator
from itertools import chain, groupby, islice, repeat
from operator import itemgetter
from typing import IO

from dlpscan.extract import sheetxml
from dlpscan.extract.archive import Budget, limited_read
from dlpscan.extract.context import Context
from dlpscan.extract.errors import ExtractError, LimitExceeded
from dlpscan.extract.source import Source

MAX_GAP = 16
SPARSE_NOTE = "xlsx_read_sparse"
CELL_LIMIT = "sheet has more cells than the limit ({})"
_WORKSHEET = "/worksheet"
Sheet = tuple[str, int, Iterator[list[object]]]  # name, first row (1-based), rows
READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, ValueError)


def member_reader(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget, malformed: type[Exception]
) -> Callable[[int], bytes] | None:
    """A reader of the member's inflated bytes within the limits (None when it cannot be opened);
    a stream that breaks off raises `malformed`."""
    try:
        read = limited_read(zf.open(info), budget, info.compress_size)
    except READ_ERRORS:
        return None

    def checked(n: int) -> bytes:
        try:
            return read(n)
        except READ_ERRORS:
            raise malformed("workbook part cannot be inflated") from None

    return checked


def open_package(f: IO[bytes]) -> zipfile.ZipFile:
    """The workbook's zip package; ExtractError (naming the error's type only) when it is not one."""
    try:
        return zipfile.ZipFile(f)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise ExtractError(f"{type(e).__name__}: cannot read workbook") from None


def sheets(src: Source, ctx: Context) -> Iterator[Sheet]:
    """Every worksheet's rows, hidden ones included; a sheet that cannot be read is a failed part."""
    with src.open() as f, open_package(f) as zf:
        package = Package(zf, Budget(ctx.limits, src.size))
        ctx.note(SPARSE_NOTE)
        strings = list(islice(package.strings(), ctx.limits.max_cells_per_sheet))
        for name, path in package.worksheets():
            ctx.check()
            read = package.reader(path)
            if read is None:
                ctx.part_failed(f"sheet {name}")
                continue
            found = sheet(name, counted(sheetxml.cells(sheetxml.events(read), strings), ctx, name))
            if found is not None:
                yield found


def sheet(name: str, cells: Iterator[tuple[int, int, object]]) -> Sheet | None:
    """The sheet of `cells` (row by row, in file order) laid out with gaps closed; None if empty."""
    rows = _laid_out(_rows(cells))
    first = next(rows, None)
    if first is None:
        return None
    return name, first[0] + 1, chain([first[1]], map(itemgetter(1), rows))


class Package:
    def __init__(self, zf: zipfile.ZipFile, budget: Budget) -> None:
        self.zf, self.budget = zf, budget
        self.members = {_normal(i.filename): i for i in zf.infolist() if not i.is_dir()}

    def size(self, path: str) -> int | None:
        """The member's inflated size as its zip entry states it; None when there is no such member."""
        info = self.members.get(_normal(path))
        return None if info is None else info.file_size

    def reader(self, path: str) -> Callable[[int], bytes] | None:
        """The member's inflated bytes within the limits; a broken stream ends as Malformed."""
        info = self.members.get(_normal(path))
        return None if info is None else member_reader(self.zf, info, self.budget, sheetxml.Malformed)

    def _tags(self, path: str, tag: bytes) -> Iterator[dict[bytes, bytes]]:
        """The attributes of each `tag` element of a small package part."""
        read = self.reader(path)
        if read is None:
            return
        try:
            for kind, name, data in sheetxml.events(read):
                if kind == sheetxml.START and sheetxml.local(name) == tag:
                    yield dict(sheetxml.attributes(data))
        except sheetxml.Malformed:
            return

    def base(self) -> str:
        """The folder of the office document (calamine's xl_path), "xl/" by default."""
        for rel in self._tags("_rels/.rels", b"Relationship"):
            if rel.get(b"Type", b"").endswith(b"/relationships/officeDocument") and b"Target" in rel:
                target = _text(rel[b"Target"])
                return target[: target.rfind("/") + 1].lstrip("/")
        return "xl/"

    def sheet_count(self) -> int:
        """The sheets the workbook lists, of every kind (chart sheets, dialog sheets ...)."""
        return sum(1 for _ in self._tags(f"{self.base()}workbook.xml", b"sheet"))

    def worksheets(self) -> Iterator[tuple[str, str]]:
        """(name, part path) of each worksheet, in workbook order."""
        base = self.base()
        rels = {
            r[b"Id"]: (_text(r.get(b"Target", b"")), r.get(b"Type", b""))
            for r in self._tags(f"{base}_rels/workbook.xml.rels", b"Relationship")
            if b"Id" in r
        }
        for sheet in self._tags(f"{base}workbook.xml", b"sheet"):
            rid = next((v for k, v in sheet.items() if sheetxml.local(k) == b"id"), None)
            target, typ = rels.get(rid, ("", b""))
            if target and typ.decode("ascii", "replace").endswith(_WORKSHEET):
                path = target[1:] if target.startswith("/") else base + target
                yield _text(sheet.get(b"name", b"")), path

    def strings(self) -> Iterator[str]:
        read = self.reader(f"{self.base()}sharedStrings.xml")
        if read is not None:
            try:
                yield from sheetxml.shared_strings(sheetxml.events(read))
            except sheetxml.Malformed:
                return


def _normal(name: str) -> str:
    return posixpath.normpath(name.replace("\\", "/").lstrip("/")).lower()


def _text(raw: bytes) -> str:
    return html.unescape(raw.decode("utf-8", "replace"))


def counted(
    cells: Iterator[tuple[int, int, object]], ctx: Context, name: str
) -> Iterator[tuple[int, int, object]]:
    """The sheet's cells; a sheet whose XML breaks off is a failed part after what was read. The
    cell limit counts the cells present (calamine's counts the rectangle it lays out)."""
    limit = ctx.limits.max_cells_per_sheet
    try:
        for n, cell in enumerate(cells, start=1):
            if n > limit:
                raise LimitExceeded(CELL_LIMIT.format(limit))
            yield cell
    except sheetxml.Malformed:
        ctx.part_failed(f"sheet {name}")


def _rows(cells: Iterator[tuple[int, int, object]]) -> Iterator[tuple[int, list[tuple[int, object]]]]:
    """Consecutive cells of one row, as (row, [(column, value)])."""
    for row, group in groupby(cells, key=itemgetter(0)):
        yield row, [(c, v) for _, c, v in group]


def _laid_out(rows: Iterator[tuple[int, list[tuple[int, object]]]]) -> Iterator[tuple[int, list[object]]]:
    """(row, values) with empty rows and columns kept up to MAX_GAP between two present ones."""
    last = None
    for row, cells in rows:
        if last is not None and row > last + 1:
            yield from repeat((row, []), min(row - last - 1, MAX_GAP))
        last = row
        values: list[object] = []
        at = -1
        for col, value in sorted(cells, key=itemgetter(0)):
            values.extend(repeat("", min(col - at - 1, MAX_GAP)))
            values.append(value)
            at = col
        yield row, values
