"""ods checks made before calamine opens the package (what calamine lays out: odslayout).

A value at A1 and one 16,000 columns and 5,000 repeated rows away make 80 million cells (2.5 GB)
from 1 KB, and an allocation that fails aborts the whole process. So content.xml is streamed
(within the archive limits) and its layout bounded: by searches over whole rows for the usual
file (odsbulk); where they do not settle it, by a walk through calamine's own reading of it
(odsxml).
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator

from dlpscan.extract import odsbulk, odsns, odsxml, sheetxml
from dlpscan.extract.archive import Budget, limited_read, overlapping, zip_or_none
from dlpscan.extract.errors import LimitExceeded
from dlpscan.extract.limits import Limits
from dlpscan.extract.odslayout import Beyond, Layout
from dlpscan.extract.source import Source
from dlpscan.extract.xlsxcheck import UNCHECKED

CONTENT = "content.xml"
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError)


class _Unchecked(Exception):
    """The part cannot be bounded the way calamine will read it."""


def allocation_problem(src: Source, limits: Limits) -> str | None:
    """Why calamine must not open this ods package, or None. Not a zip or no content.xml: None
    (calamine reports what it is)."""
    with zip_or_none(src) as zf:
        if zf is None:
            return None
        infos = [i for i in zf.infolist() if not i.is_dir()]
        info = next((i for i in infos if i.filename == CONTENT), None)
        if info is None or info.flag_bits & 0x1:
            return None
        if overlapping(infos) or info.file_size > limits.max_member_bytes:
            return UNCHECKED
        try:
            with zf.open(info) as stream:
                if odsbulk.within(
                    limited_read(stream, Budget(limits, src.size), info.compress_size), Layout(limits)
                ):
                    return None
            with zf.open(info) as stream:
                read = limited_read(stream, Budget(limits, src.size), info.compress_size)
                _walk(sheetxml.events(read), Layout(limits))
        except (Beyond, odsns.Renamed) as e:
            return str(e)
        except (_Unchecked, sheetxml.TooLong, LimitExceeded, NotImplementedError):
            return UNCHECKED
        except (sheetxml.Malformed, *_READ_ERRORS):
            return None  # calamine's reader fails there too, before laying anything more out
    return None


def _walk(evs: Iterator[sheetxml.Event], tables: Layout) -> None:
    """Read content.xml as calamine does; raise Beyond once its tables pass a limit."""
    width = text = column = 0
    repeats: int | None = None
    for item in odsxml.walk(_refusing(evs)):
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


def _refusing(evs: Iterator[sheetxml.Event]) -> Iterator[sheetxml.Event]:
    """quick-xml delimits a document type declaration by rules of its own: what follows could be
    read apart, so such a file is not checked. A namespace calamine cannot see raises Renamed."""
    for event in evs:
        if event[0] == sheetxml.DOCTYPE:
            raise _Unchecked
        if event[0] == sheetxml.START:
            odsns.check(event[2])
        yield event
