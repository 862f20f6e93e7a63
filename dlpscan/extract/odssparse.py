"""ods workbooks calamine must not open (odscheck), read sparsely: only the cells present.

content.xml is streamed through odsxml (calamine's reading of it), so memory follows the cells
present and time the file's length. Rows and columns keep their positions, repeats counted; a gap
of empty rows or columns is closed as the xlsx sparse reader closes it (sparse.MAX_GAP), and a
repeated non-empty cell or row, which holds the same values every time, is read at most
MAX_REPEAT times, a long one fewer (the copies past the first hold at most COPY_BYTES bytes),
so that copies never multiply the text to scan.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby
from operator import itemgetter

from dlpscan.extract import odsns, odsxml, sheetxml, sparse
from dlpscan.extract.archive import Budget
from dlpscan.extract.context import Context
from dlpscan.extract.errors import ExtractError, LimitExceeded
from dlpscan.extract.odscheck import CONTENT
from dlpscan.extract.source import Source

MAX_REPEAT = 16
COPY_BYTES = 4096
SPARSE_NOTE = "ods_read_sparse"
_Placed = tuple[int, str, int, int, object]  # table number, table name, row, column, value


def sheets(src: Source, ctx: Context) -> Iterator[sparse.Sheet]:
    """Every table's rows, hidden ones included; a table whose XML breaks off is a failed part."""
    with src.open() as f, sparse.open_package(f) as zf:
        try:
            info = zf.getinfo(CONTENT)
        except KeyError:
            raise ExtractError("KeyError: cannot read workbook") from None
        ctx.note(SPARSE_NOTE)
        read = sparse.member_reader(zf, info, Budget(ctx.limits, src.size), sheetxml.Malformed)
        if read is None:
            raise ExtractError("cannot read content.xml")
        evs = odsns.standard(sheetxml.events(read))  # names under the standard prefixes
        for (_, name), group in groupby(_placed(evs, ctx), key=itemgetter(0, 1)):
            ctx.check()
            cells = ((row, col, value) for _, _, row, col, value in group)
            found = sparse.sheet(name, sparse.counted(cells, ctx, name))
            if found is not None:
                yield found


def _placed(evs: Iterator[sheetxml.Event], ctx: Context) -> Iterator[_Placed]:
    """The cells present, each at its row and column, table by table."""
    table, name, row = -1, "", 0
    repeats: int | None = None  # of the current row; None before a table's first row
    cells: list[tuple[int, odsxml.Cell]] = []
    column = 0
    try:
        for item in odsxml.walk(evs):
            if isinstance(item, odsxml.Cell):
                if item.value is not None and repeats is not None:
                    _keep(cells, (column, item), ctx)
                column += item.repeats
                continue
            if repeats is not None:
                yield from _copies(table, name, row, repeats, cells)
                row += max(repeats, 1)
            cells, column = [], 0
            repeats = item.repeats if isinstance(item, odsxml.Row) else None
            if isinstance(item, odsxml.Table):
                table, name, row = table + 1, item.name, 0
        if repeats is not None:
            yield from _copies(table, name, row, repeats, cells)
    except sheetxml.Malformed:
        ctx.part_failed(f"sheet {name}" if name else CONTENT)


def _keep(cells: list[tuple[int, odsxml.Cell]], cell: tuple[int, odsxml.Cell], ctx: Context) -> None:
    if len(cells) >= ctx.limits.max_cells_per_sheet:
        raise LimitExceeded(sparse.CELL_LIMIT.format(ctx.limits.max_cells_per_sheet))
    cells.append(cell)


def _copies(
    table: int, name: str, row: int, repeats: int, cells: list[tuple[int, odsxml.Cell]]
) -> Iterator[_Placed]:
    for r in range(row, row + _times(max(repeats, 1), sum(cell.size for _, cell in cells))):
        for column, cell in cells:
            for c in range(column, column + _times(cell.repeats, cell.size)):
                yield table, name, r, c, cell.value


def _times(repeats: int, size: int) -> int:
    """How many of `repeats` copies of `size` bytes are read."""
    return min(repeats, MAX_REPEAT, max(1, COPY_BYTES // max(size, 1)))
