"""Workbooks of strings and plain numbers, read without calamine, as calamine reads them.

A customer export is mostly text cells: inline strings where it was written a row at a time (Apache
POI's SXSSF, xlsxwriter's constant-memory mode and the reporting tools built on them), shared strings
where Excel saved it. calamine spends most of the time of reading such a sheet building its range:
`_xlsxscan.read_sheet` reads one in a pass over its XML (and `shared_strings` the strings table) and
lays it out as calamine does. A workbook with any other cell (a styled number, which may be a date, a
formula, a boolean ...), another kind of sheet, a sheet over the cell limit or a part that cannot be
read is left to calamine whole. tests/test_xlsxfast.py holds the two readers to the same rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from dlpscan import extensions
from dlpscan.extract import sheetxml, xlsxcheck
from dlpscan.extract.archive import Budget
from dlpscan.extract.context import Context
from dlpscan.extract.errors import ExtractError
from dlpscan.extract.source import Source
from dlpscan.extract.sparse import READ_ERRORS, Package, open_package
from dlpscan.extract.tables import RENDERED_BELOW

# Number formats (numFmtId) calamine reads a number in as a number: General, the built-in number,
# currency, percent, fraction, accounting and text formats. Its built-in dates and times are 14-22,
# 27-36, 45-47, 50-58 and 71-81; a custom format (164 on) may be one.
PLAIN_FORMATS = frozenset({*range(14), *range(37, 45), 48, 49})
# A part is read whole (calamine holds a sheet's whole range too); a larger one is calamine's.
MAX_PART_BYTES = 512 * 1024**2

T = TypeVar("T")
# name, first row (1-based), rows as calamine gives them: a row of text only already rendered (a tuple,
# as tables.render_row gives it), a row with a number to render a list
Sheet = tuple[str, int, list[tuple[str, ...] | list[object]]]


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
            strings: list[str] | None = None
            if package.size(shared := f"{package.base()}sharedStrings.xml") is not None:
                strings = _part(package, shared, compiled.shared_strings)
                if strings is None:
                    return None
            plain_styles = _plain_styles(package)
            out: list[Sheet] = []
            for name, path in worksheets:
                ctx.check()
                found = _part(
                    package,
                    path,
                    lambda xml: compiled.read_sheet(
                        xml, strings, plain_styles, ctx.limits.max_cells_per_sheet, RENDERED_BELOW
                    ),
                )
                if found is None or found[3] is None:  # another kind of cell, or over the cell limit
                    return None
                first_row, _, _, rows = found
                if rows:
                    out.append((name, first_row + 1, rows))
            return out
    except (ExtractError, sheetxml.Malformed, *READ_ERRORS):  # not a package, a limit, a broken part:
        return None  # what calamine makes of it is its own


def _part(package: Package, path: str, read_xml: Callable[[bytes], T | None]) -> T | None:
    """`read_xml` of a part of the package, read whole; None when it is missing, too large, or declares
    more shared strings than the pre-flight lets calamine reserve (the pre-flight then decides)."""
    size = package.size(path)
    read = package.reader(path) if size is not None and size <= MAX_PART_BYTES else None
    if read is None:
        return None
    data = b"".join(iter(lambda: read(sheetxml.CHUNK), b""))
    return None if xlsxcheck.declares_too_many_strings(data, size, package.budget.limits) else read_xml(data)


def _plain_styles(package: Package) -> bytes | None:
    """For each cell style (cellXfs' <xf>, by index), 1 where calamine reads a number in it as a number;
    None when the workbook has no styles part (no number is a date)."""
    read = package.reader(f"{package.base()}styles.xml")
    if read is None:
        return None
    plain, custom, in_cell_styles = bytearray(), set(), False
    for kind, name, data in sheetxml.events(read):
        tag = sheetxml.local(name)
        if kind == sheetxml.START and tag in (b"numFmt", b"xf"):
            attrs = dict(sheetxml.attributes(data))
            if tag == b"numFmt":
                custom.add(attrs.get(b"numFmtId"))
            elif in_cell_styles:
                fmt = attrs.get(b"numFmtId", b"")
                plain.append(fmt.isdigit() and int(fmt) in PLAIN_FORMATS and fmt not in custom)
        elif tag == b"cellXfs":
            in_cell_styles = kind == sheetxml.START
    return bytes(plain)
