"""xlsb checks made before calamine opens the package.

calamine lays an xlsb worksheet out densely from its first to its last cell, as it does an xlsx
one, and takes a cell's column from the record as any u32: a cell at A1 and one at XFD1048576
make it ask for 549 GB and abort the process. Each worksheet calamine would read is streamed
once (within the archive limits) through biff12, which places cells as calamine does, and the
rectangle of its cells is bounded by `max_cells_per_sheet`.
"""

from __future__ import annotations

from collections.abc import Callable

from dlpscan.extract import biff12, xlsbsparse
from dlpscan.extract.archive import Budget, overlapping, zip_or_none
from dlpscan.extract.errors import LimitExceeded
from dlpscan.extract.limits import Limits
from dlpscan.extract.source import Source
from dlpscan.extract.xlsxcheck import SPREAD, UNCHECKED


def allocation_problem(src: Source, limits: Limits) -> str | None:
    """Why calamine must not open this xlsb package, or None. Not a zip: None (calamine reports
    what it is)."""
    with zip_or_none(src) as zf:
        if zf is None:
            return None
        if overlapping([i for i in zf.infolist() if not i.is_dir()]):
            return UNCHECKED
        open_member = xlsbsparse.members(zf, Budget(limits, src.size))
        try:
            for _, path in list(biff12.worksheets(open_member)):
                if _sheet_spreads(open_member(path), limits.max_cells_per_sheet):
                    return SPREAD
        except (biff12.TooLong, LimitExceeded):
            return UNCHECKED
        except biff12.Malformed:
            return None  # a broken workbook.bin: calamine cannot open the workbook
    return None


def _sheet_spreads(read: Callable[[int], bytes] | None, max_cells: int) -> bool:
    """Do the sheet's cells span more than `max_cells` cells? A sheet that breaks off before they
    do fails in calamine before it lays anything out."""
    if read is None:
        return False
    top = left = 1 << 32
    bottom = right = -1
    try:
        for row, col, _ in biff12.cells(biff12.records(read)):
            top, bottom, left, right = min(top, row), max(bottom, row), min(left, col), max(right, col)
            if (bottom - top + 1) * (right - left + 1) > max_cells:
                return True
    except biff12.TooLong:
        raise
    except biff12.Malformed:
        return False
    return False
