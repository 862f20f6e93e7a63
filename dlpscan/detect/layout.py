"""Where each cell of a table sits in the one text the engine scans for it.

A table is scanned as text: its cells joined by CELL_SEP, its rows by newlines (a newline inside a
cell reads as a space). The positions are typed arrays, one entry per cell, so that the compiled loop
reads them without a Python object per cell (a 200,000-row export has 800,000 cells).
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

CELL_SEP = "\x1f"


@dataclass(frozen=True, slots=True)
class TableLayout:
    text: str  # before folding
    starts: array  # 'q', per cell, row by row: its offset in `text`
    rows: array  # 'q', per cell: its row
    columns: array  # 'q', per cell: its column
    row_starts: array  # 'q', per row: the offset of its first character
    first_cell: array  # 'q', per row and one more: the index of its first cell (the last: the cell count)

    def cell_of(self, pos: int) -> tuple[int, int, int]:
        """(row start, row, column) of the cell holding `pos` (the one starting last at or before it)."""
        i = bisect.bisect_right(self.starts, pos) - 1
        if i < 0:
            return 0, 0, 0
        row = self.rows[i]
        return self.row_starts[row], row, self.columns[i]


def table_layout(table_rows: Sequence[Sequence[str]]) -> TableLayout:
    """The reference; `_core.table_layout` builds the same arrays in C."""
    starts, rows, columns = array("q"), array("q"), array("q")
    row_starts, first_cell = array("q"), array("q", [0])
    lines: list[str] = []
    offset = 0
    for r, row in enumerate(table_rows):
        row_starts.append(offset)
        for c, cell in enumerate(row):
            starts.append(offset)
            rows.append(r)
            columns.append(c)
            offset += len(cell) + 1
        first_cell.append(len(starts))
        line = CELL_SEP.join(row)
        if "\n" in line:
            line = line.replace("\n", " ")
        lines.append(line)
        offset = row_starts[r] + len(line) + 1
    return TableLayout("\n".join(lines), starts, rows, columns, row_starts, first_cell)
