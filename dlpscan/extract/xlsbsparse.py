"""xlsb workbooks calamine must not open (xlsbcheck), read sparsely: only the cells present.

Each worksheet's records are streamed through biff12 and laid out as the xlsx sparse reader lays
out its cells (sparse.sheet): gaps of empty rows or columns closed to sparse.MAX_GAP. Numbers stay
numbers (no date formats); error cells are left out.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from itertools import islice

from dlpscan.extract import biff12, sparse
from dlpscan.extract.archive import Budget
from dlpscan.extract.context import Context
from dlpscan.extract.errors import ExtractError
from dlpscan.extract.source import Source

SPARSE_NOTE = "xlsb_read_sparse"
_STRINGS = "xl/sharedStrings.bin"


def members(zf: zipfile.ZipFile, budget: Budget) -> Callable[[str], Callable[[int], bytes] | None]:
    """`open(path)`: the member's inflated bytes within the limits (a broken stream ends as
    Malformed), or None where there is no such member."""
    infos = {i.filename: i for i in zf.infolist() if not i.is_dir()}

    def open_member(path: str) -> Callable[[int], bytes] | None:
        info = infos.get(path)
        return None if info is None else sparse.member_reader(zf, info, budget, biff12.Malformed)

    return open_member


def sheets(src: Source, ctx: Context) -> Iterator[sparse.Sheet]:
    """Every worksheet's rows, hidden ones included; a sheet that cannot be read is a failed part."""
    with src.open() as f, sparse.open_package(f) as zf:
        open_member = members(zf, Budget(ctx.limits, src.size))
        ctx.note(SPARSE_NOTE)
        strings = list(islice(_strings(open_member(_STRINGS)), ctx.limits.max_cells_per_sheet))
        for name, path in _worksheets(open_member):
            ctx.check()
            read = open_member(path)
            if read is None:
                ctx.part_failed(f"sheet {name}")
                continue
            present = (c for c in biff12.cells(biff12.records(read), strings) if c[2] is not None)
            found = sparse.sheet(name, sparse.counted(present, ctx, name))
            if found is not None:
                yield found


def _worksheets(open_member: Callable[[str], Callable[[int], bytes] | None]) -> list[tuple[str, str]]:
    try:
        return list(biff12.worksheets(open_member))
    except biff12.Malformed:
        raise ExtractError("cannot read the workbook part") from None


def _strings(read: Callable[[int], bytes] | None) -> Iterator[str]:
    if read is None:
        return
    try:
        yield from biff12.strings(biff12.records(read))
    except biff12.Malformed:
        return
