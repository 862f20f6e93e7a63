"""What calamine lays out for an ods workbook, summed as its rows are read (odscheck, odsbulk).

calamine reads every table of content.xml when it opens the workbook and holds them all. Each is
laid out densely from its first to its last non-empty row, every row as wide as the widest
(repeated empty rows between included), with a formula table of the same shape; repeated
non-empty cells and rows are copied, strings included. Layout bounds, over all tables, the
rectangles from column A to the widest row's last non-empty cell (at least calamine's, which
starts at the first non-empty column) by `max_cells_per_sheet`, and the bytes of the copied
strings by `max_member_bytes`.
"""

from __future__ import annotations

from dlpscan.extract.limits import Limits
from dlpscan.extract.xlsxcheck import SPREAD

TEXT = "a sheet whose repeated strings add up to more than the limit"


class Beyond(Exception):
    """calamine would allocate beyond the limits: the reason is the message."""


class Layout:
    """The cells and string bytes calamine lays out for the tables read so far."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.done_cells = self.text = 0
        self._start()

    def _start(self) -> None:
        self.rows = self.width = 0  # rows read (repeats counted); widest non-empty row
        self.first: int | None = None  # the first non-empty row
        self.end = 0  # the row after the last non-empty one

    def table(self) -> None:
        """A new table starts."""
        self.done_cells += self._cells()
        self._start()

    def _cells(self) -> int:
        return (self.end - self.first) * self.width if self.first is not None else 0

    def row(self, repeats: int, width: int, text: int) -> None:
        """A row laid out `repeats` times (once at least; 0 too), its last non-empty cell at
        `width`, holding `text` bytes of strings; raises Beyond once a limit is passed."""
        repeats = max(repeats, 1)
        if width:
            self.first = self.rows if self.first is None else self.first
            self.end, self.width = self.rows + repeats, max(self.width, width)
            self.text += text * repeats
        self.rows += repeats
        if self.done_cells + self._cells() > self.limits.max_cells_per_sheet:
            raise Beyond(SPREAD)
        if self.text > self.limits.max_member_bytes:
            raise Beyond(TEXT)
