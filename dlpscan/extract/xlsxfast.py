"""Workbooks of inline strings and plain numbers, read without calamine, as calamine reads them.

Exports written a row at a time (Apache POI's SXSSF, xlsxwriter's constant-memory mode and the
reporting tools built on them) hold every text cell as an inline string. calamine spends most of the
time of reading such a sheet building its range: `_xlsxscan.inline_sheet` reads one in a pass over its
XML and lays it out as calamine does. A workbook with any other cell (a shared string, a styled
number, a formula ...), another kind of sheet, a sheet over the cell limit or a part that cannot be
read is left to calamine whole. tests/test_xlsxfast.py holds the two readers to the same rows.
"""

from __future__ import annotations

from types import ModuleType

from dlpscan import extensions
from dlpscan.extract import sheetxml
from dlpscan.extract.archive import Budget
from dlpscan.extract.context import Context
from dlpscan.extract.errors import LimitExceeded
from dlpscan.extract.source import Source
from dlpscan.extract.sparse import READ_ERRORS, Package, open_package

# A sheet's XML is read whole (calamine holds its whole range too); a larger one is calamine's.
MAX_SHEET_BYTES = 512 * 1024**2

Sheet = tuple[str, int, list[list[object]]]  # name, first row (1-based), rows as calamine gives them


def read(src: Source, ctx: Context) -> list[Sheet] | None:
    """The worksheets of the xlsx/xlsm `src` that have cells, in workbook order, as calamine reads
    them; None when calamine is to read the workbook (or the compiled reader is not built)."""
    compiled = extensions.load("dlpscan.extract._xlsxscan")
    if compiled is None:
        return None
    try:
        with src.open() as f, open_package(f) as zf:
            package = Package(zf, Budget(ctx.limits, src.size))
            worksheets = list(package.worksheets())
            if package.sheet_count() != len(worksheets) or any("&" in name for name, _ in worksheets):
                return None  # other kinds of sheet, or a name calamine may unescape otherwise
            out: list[Sheet] = []
            for name, path in worksheets:
                ctx.check()
                found = _sheet(compiled, package, path, ctx.limits.max_cells_per_sheet)
                if found is None:
                    return None
                first_row, rows = found
                if rows:
                    out.append((name, first_row + 1, rows))
            return out
    except (LimitExceeded, sheetxml.Malformed, *READ_ERRORS):  # what calamine makes of it is its own
        return None


def _sheet(compiled: ModuleType, package: Package, path: str, max_cells: int) -> tuple[int, list] | None:
    """(first row, 0-based; rows) of a worksheet as calamine reads it; None where it is calamine's."""
    size = package.size(path)
    read = package.reader(path) if size is not None and size <= MAX_SHEET_BYTES else None
    if read is None:
        return None
    found = compiled.inline_sheet(b"".join(iter(lambda: read(sheetxml.CHUNK), b"")), max_cells)
    if found is None or found[3] is None:  # another kind of cell, or over the cell limit
        return None
    return found[0], found[3]
