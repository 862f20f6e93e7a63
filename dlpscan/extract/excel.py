"""Spreadsheets: xlsx/xlsm, xls, ods, xlsb. Every sheet is read, hidden and very hidden ones too.

python-calamine (Rust) reads all formats; a plain xlsx/xlsm (text, inline or shared strings, and
plain numbers: most exports) is read by xlsxfast instead, as calamine reads it, in a fraction of the
time. When calamine cannot open a workbook, openpyxl (read-only) reads xlsx/xlsm, xlrd reads xls and
a sparse reader reads ods and xlsb (calamine refuses text between an ods row's cells, and panics on an
xlsb sheet without its relationship). An xlsx/xlsm, ods or xlsb that calamine would lay out over more
cells than it can allocate (xlsxcheck, odscheck, xlsbcheck), or an ods whose namespaces calamine
cannot see (odsns), is read by the sparse reader instead (sparse, odssparse, xlsbsparse). Each sheet
becomes TableBlocks under its detected header row; rows above the header are handed on as text."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Iterator
from itertools import chain, repeat

import python_calamine as calamine

from dlpscan.extract import (
    biff,
    cfb,
    odscheck,
    odssparse,
    sniff,
    sparse,
    xlsbcheck,
    xlsbsparse,
    xlsxcheck,
    xlsxfast,
)
from dlpscan.extract.context import Context
from dlpscan.extract.errors import EncryptedError, ExtractError, LimitExceeded
from dlpscan.extract.source import Source
from dlpscan.extract.tables import render_row, table_blocks
from dlpscan.model import Block

_FALLBACK = {
    sniff.XLSX: "openpyxl",
    sniff.XLSM: "openpyxl",
    sniff.XLS: "xlrd",
    sniff.ODS: "sparse",
    sniff.XLSB: "sparse",
}
_PREFLIGHT = {
    sniff.XLSX: xlsxcheck.allocation_problem,
    sniff.XLSM: xlsxcheck.allocation_problem,
    sniff.ODS: odscheck.allocation_problem,
    sniff.XLSB: xlsbcheck.allocation_problem,
}
_SPARSE = {
    sniff.XLSX: sparse.sheets,
    sniff.XLSM: sparse.sheets,
    sniff.ODS: odssparse.sheets,
    sniff.XLSB: xlsbsparse.sheets,
}
_FAST_READABLE = {sniff.XLSX, sniff.XLSM}  # xlsxfast reads the plain ones
_ENCRYPTED = "password-protected workbook"
_READER_LIMIT = "sheet has more cells than the reader's limit"


def read_spreadsheet(
    src: Source, ctx: Context, media_type: str, engine: str | None = None
) -> Iterator[Block]:
    """Blocks of every sheet. `engine` forces a reader (calamine, openpyxl, xlrd, sparse); None = best.
    xlsxfast reads before the pre-flight: it is bounded on its own (the exact cell count of its range,
    the archive's inflation budget), and the pre-flight guards calamine, which it leaves out."""
    if engine is None and media_type in _FAST_READABLE and (sheets := xlsxfast.read(src, ctx)) is not None:
        for name, first_row, rows in sheets:
            ctx.check()
            rendered = map(_rendered, rows, repeat(ctx))
            yield from table_blocks(rendered, ctx, f"sheet {name}", first_row=first_row)
        return
    if engine in (None, "calamine") and media_type in _PREFLIGHT:
        problem = _PREFLIGHT[media_type](src, ctx.limits)
        if problem is not None and engine is not None:
            raise ExtractError(f"calamine cannot read {problem}")
        if problem is not None:
            engine = "sparse"
    if engine in (None, "calamine"):
        try:
            workbook = _open_calamine(src)
        except calamine.PasswordError:
            raise EncryptedError(_ENCRYPTED) from None
        except BaseException as e:  # CalamineError, OSError... and pyo3's PanicException (a BaseException)
            if not isinstance(e, (calamine.CalamineError, OSError, ValueError)) and not is_panic(e):
                raise
            if _is_cell_limit(e):
                raise LimitExceeded(_READER_LIMIT) from None
            fallback = _FALLBACK.get(media_type) if engine is None else None
            if fallback is None:
                raise ExtractError(f"{type(e).__name__}: cannot read workbook") from None
            engine = fallback
        else:
            yield from _calamine_blocks(workbook, ctx)
            return
    if engine == "sparse":
        for name, first_row, rows in _SPARSE.get(media_type, sparse.sheets)(src, ctx):
            yield from _sheet_blocks(rows, name, first_row, ctx)
    elif engine == "openpyxl":
        yield from _openpyxl_blocks(src, ctx)
    elif engine == "xlrd":
        yield from _xlrd_blocks(src, ctx)
    else:
        raise ValueError(f"unknown spreadsheet engine {engine!r}")


def _open_calamine(src: Source) -> calamine.CalamineWorkbook:
    problem = cfb.allocation_problem(src)
    if problem is not None:
        raise ValueError(problem)  # calamine would abort the process: take the fallback reader
    safe = biff.sanitized(src) if src.head(8) == cfb.MAGIC else None
    if safe is not None:  # records calamine would size a sheet from, neutralised in a copy
        return calamine.CalamineWorkbook.from_filelike(io.BytesIO(safe))
    if src.path is not None:
        return calamine.CalamineWorkbook.from_path(str(src.path))
    with src.open() as f:
        return calamine.CalamineWorkbook.from_filelike(f)


def is_panic(e: BaseException) -> bool:
    """A Rust panic inside calamine surfaces as pyo3's PanicException, which is not an Exception."""
    return type(e).__name__ == "PanicException"


def _is_cell_limit(e: BaseException) -> bool:
    return "cell limit" in str(e).lower()


def _check_cells(height: int | None, width: int | None, ctx: Context) -> None:
    if height and width and height * width > ctx.limits.max_cells_per_sheet:
        raise LimitExceeded(sparse.CELL_LIMIT.format(ctx.limits.max_cells_per_sheet))


def _sheet_blocks(rows: Iterable, name: str, first_row: int, ctx: Context) -> Iterator[Block]:
    rendered = map(render_row, rows, repeat(ctx))
    yield from table_blocks(rendered, ctx, f"sheet {name}", first_row=first_row)


def _rendered(row: tuple[str, ...] | list[object], ctx: Context) -> tuple[str, ...]:
    """A row of xlsxfast's: a tuple is rendered already, a list holds a number to render."""
    return row if type(row) is tuple else render_row(row, ctx)


def _calamine_blocks(workbook: calamine.CalamineWorkbook, ctx: Context) -> Iterator[Block]:
    try:
        for meta in workbook.sheets_metadata:
            ctx.check()
            worksheet = meta.typ == calamine.SheetTypeEnum.WorkSheet
            try:
                sheet = workbook.get_sheet_by_name(meta.name)
            except (calamine.CalamineError, OSError, ValueError) as e:
                if _is_cell_limit(e):
                    raise LimitExceeded(_READER_LIMIT) from None
                if worksheet:  # chart / dialog / macro sheets hold no cells of their own
                    ctx.part_failed(f"sheet {meta.name}")
                continue
            _check_cells(sheet.height, sheet.width, ctx)
            start = sheet.start[0] if sheet.start else 0
            yield from _sheet_blocks(_from_row(sheet.iter_rows(), start), meta.name, start + 1, ctx)
    finally:
        workbook.close()


def _from_row(rows: Iterator[list], start: int) -> Iterator[list]:
    """Rows from the used range's first row. python-calamine's iter_rows() yields the empty rows
    above the range in some versions and not in others: drop up to `start` leading empty rows."""
    it = iter(rows)
    first = next(it, None)
    dropped = 0
    while first is not None and dropped < start and all(c == "" for c in first):
        first = next(it, None)
        dropped += 1
    return chain([first], it) if first is not None else iter(())


def _openpyxl_blocks(src: Source, ctx: Context) -> Iterator[Block]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    with src.open() as f:
        try:
            workbook = openpyxl.load_workbook(f, read_only=True, data_only=True)
        except (InvalidFileException, KeyError, OSError, ValueError) as e:
            raise ExtractError(f"{type(e).__name__}: cannot read workbook") from None
        except Exception as e:  # zipfile.BadZipFile for OLE (encrypted) files, lxml errors...
            if _is_ole(src):
                raise EncryptedError(_ENCRYPTED) from None
            raise ExtractError(f"{type(e).__name__}: cannot read workbook") from None
        try:
            for ws in workbook.worksheets:  # includes hidden sheets; chartsheets are separate
                ctx.check()
                _check_cells(ws.max_row, ws.max_column, ctx)
                yield from _sheet_blocks(ws.iter_rows(values_only=True), ws.title, 1, ctx)
        finally:
            workbook.close()


def _xlrd_blocks(src: Source, ctx: Context) -> Iterator[Block]:
    import xlrd

    with src.open() as f:
        data = f.read()
    try:
        # xlrd writes its warnings to stdout by default, which would land in a JSON-lines report
        book = xlrd.open_workbook(file_contents=data, on_demand=True, logfile=_Discard())
    except xlrd.XLRDError as e:
        if "encrypt" in str(e).lower():
            raise EncryptedError(_ENCRYPTED) from None
        raise ExtractError("XLRDError: cannot read workbook") from None
    try:
        for i in range(book.nsheets):
            ctx.check()
            sheet = book.sheet_by_index(i)
            _check_cells(sheet.nrows, sheet.ncols, ctx)
            rows = (_xlrd_row(sheet.row(r), book.datemode) for r in range(sheet.nrows))
            yield from _sheet_blocks(rows, sheet.name, 1, ctx)
            book.unload_sheet(i)
    finally:
        book.release_resources()


class _Discard:
    """A file-like sink for library chatter."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def _xlrd_row(cells, datemode: int) -> list[object]:
    import xlrd

    out: list[object] = []
    for c in cells:
        if c.ctype == xlrd.XL_CELL_DATE:
            try:
                value: object = xlrd.xldate_as_datetime(c.value, datemode)
            except (xlrd.xldate.XLDateError, OverflowError, ValueError):
                value = c.value
            if isinstance(value, dt.datetime) and value.time() == dt.time(0):
                value = value.date()
            out.append(value)
        elif c.ctype in (xlrd.XL_CELL_ERROR, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_EMPTY):
            out.append("")
        elif c.ctype == xlrd.XL_CELL_BOOLEAN:
            out.append(bool(c.value))
        else:
            out.append(c.value)
    return out


def _is_ole(src: Source) -> bool:
    return src.head(8) == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
