"""Hostile inputs found by fuzzing (tests/fuzz), rebuilt here from small generated files.

Each class of input that made a reader or validator super-linear, exhaust memory, abort the
process, print to stdout or hide readable data has a test. Time is never asserted on the clock:
the hostile input's CPU cost per byte is compared with a normal file of the same size, measured
in the same run (fuzz/ratio.py).
"""

from __future__ import annotations

import struct

from fuzz import seeds
from fuzz.ratio import MAX_RATIO, per_byte_ratio
from fuzz.targets import run

from dlpscan.extract import cfb
from dlpscan.extract.context import Context
from dlpscan.extract.excel import read_spreadsheet
from dlpscan.extract.limits import Limits
from dlpscan.extract.source import BytesSource
from dlpscan.model import Status

XLS = "application/vnd.ms-excel"


def same_size(kind: str, hostile: bytes) -> bytes:
    return seeds.normal(kind, len(hostile))


# --- super-linear validators -----------------------------------------------------------------


def test_address_cell_of_digits_is_linear():
    """A cell under an address header holding one long digit run: `\\d+(?:号|...)` backtracked
    through every suffix of the run (quadratic)."""
    rows = [f"{p[0]},北京市{'7' * 20_000}" for p in seeds.people(3)]
    hostile = ("姓名,地址\n" + "\n".join(rows) + "\n").encode("utf-8")
    assert per_byte_ratio("csv", hostile, same_size("csv", hostile)) < MAX_RATIO


# --- native readers: bounded input -------------------------------------------------------------


def _xls_with_root_length(length: int) -> bytes:
    data = bytearray(seeds.xls(3))
    dir_start = struct.unpack_from("<I", data, 48)[0]
    struct.pack_into("<I", data, (dir_start + 1) * 512 + 120, length)  # the root entry's stream size
    return bytes(data)


def test_compound_file_declaring_lengths_beyond_its_size_never_reaches_calamine():
    """calamine reserves the declared size up front and aborts the process when that fails."""
    ordinary = seeds.xls(3)
    assert cfb.allocation_problem(BytesSource(ordinary, "a.xls")) is None
    hostile = _xls_with_root_length(0xFFFFFFF0)
    assert (
        cfb.allocation_problem(BytesSource(hostile, "a.xls"))
        == "compound file declares lengths beyond its size"
    )
    [result] = run("xls", hostile)  # xlrd, which checks stream sizes itself, reads it instead
    assert result.status is Status.SCANNED
    assert result.entities["CN_RESIDENT_ID"].distinct == 3


def test_library_warnings_never_reach_stdout(capsys):
    """xlrd prints warnings to stdout by default; a report on stdout would get non-JSON lines."""
    data = seeds.xls(3) + b"\x00" * 100  # a size that is not a whole number of sectors: xlrd warns
    blocks = list(read_spreadsheet(BytesSource(data, "a.xls"), Context(Limits()), XLS, engine="xlrd"))
    assert sum(len(b.rows) for b in blocks if hasattr(b, "rows")) == 4  # 3 people, 1 note on sheet 2
    assert capsys.readouterr().out == ""
