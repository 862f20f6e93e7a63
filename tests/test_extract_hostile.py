"""Hostile inputs found by fuzzing (tests/fuzz), rebuilt here from small generated files.

Each class of input that made a reader or validator super-linear, exhaust memory, abort the
process, print to stdout or hide readable data has a test. Time is never asserted on the clock:
the hostile input's CPU cost per byte is compared with a normal file of the same size, measured
in the same run (fuzz/ratio.py).
"""

from __future__ import annotations

import collections
import io
import random
import struct
import zipfile
from pathlib import Path

import pytest
import python_calamine as calamine
from fuzz import hostile, seeds, targets
from fuzz.child import Child
from fuzz.ratio import MAX_RATIO, per_byte_ratio
from fuzz.targets import run
from hypothesis import given, settings
from hypothesis import strategies as st

from dlpscan.extract import (
    biff,
    cfb,
    odsbulk,
    odscheck,
    odslayout,
    odsns,
    odssparse,
    sheetxml,
    tables,
    xlsbcheck,
    xlsxcheck,
)
from dlpscan.extract.context import Context
from dlpscan.extract.excel import read_spreadsheet
from dlpscan.extract.limits import Limits
from dlpscan.extract.source import BytesSource
from dlpscan.model import Status

XLS = "application/vnd.ms-excel"
EXTERNAL = Path(__file__).resolve().parent / "data" / "external" / "docs"


def same_size(kind: str, hostile: bytes) -> bytes:
    return seeds.normal(kind, len(hostile))


# --- super-linear validators -----------------------------------------------------------------


def test_address_cell_of_digits_is_linear():
    """A cell under an address header holding one long digit run: `\\d+(?:号|...)` backtracked
    through every suffix of the run (quadratic)."""
    rows = [f"{p[0]},北京市{'7' * 20_000}" for p in seeds.people(3)]
    hostile = ("姓名,地址\n" + "\n".join(rows) + "\n").encode("utf-8")
    assert per_byte_ratio("csv", hostile, same_size("csv", hostile)) < MAX_RATIO


def test_one_enormous_line_of_findings_is_linear():
    """Each candidate looked back to the start of its line (quadratic on one long line), and each
    companion-name token was checked against every Han finding on the line (quadratic again)."""
    for make in (hostile.one_line_of_mobiles, hostile.one_line_of_records):
        data = make(300_000)
        assert per_byte_ratio("text", data, same_size("text", data)) < MAX_RATIO


def test_records_with_keys_of_their_own_are_linear():
    """One union header over thousands of records with distinct keys made rows x keys cells."""
    for kind, make in (
        ("json", hostile.json_records_of_distinct_keys),
        ("xml", hostile.xml_records_of_distinct_tags),
    ):
        data = make(60_000)
        # linear, but one small block per few records, each with a header of its own, costs about
        # 25-30x an ordinary JSON export per byte (ten keys' relations to every type per block); the
        # ordinary export got faster than this shape as tables were compiled (JSON: 2,725 -> 1,905
        # ns/byte here, the ordinary file 98 -> 80). The quadratic version was over 1,000x.
        assert per_byte_ratio(kind, data, same_size(kind, data)) < 5 * MAX_RATIO


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


def test_compound_file_sending_a_reader_to_a_sector_far_beyond_its_end_never_reaches_calamine():
    """calamine grows its sector buffer up to any sector id a chain names (gigabytes for a 5 KB file)."""
    data = bytearray(seeds.xls(3))
    struct.pack_into("<I", data, 60, 0x00FFFFFE)  # the mini FAT starts at sector 16,777,214
    assert (
        cfb.allocation_problem(BytesSource(bytes(data), "a.xls"))
        == "compound file declares lengths beyond its size"
    )
    [result] = run("xls", bytes(data))
    assert result.status in (Status.ERROR, Status.SCANNED)  # xlrd decides; the process survives


def test_compound_file_whose_sector_chain_loops_never_reaches_calamine():
    """calamine follows a chain until its end marker: a loop grows its buffer until memory runs out."""
    data = bytearray(seeds.xls(3))
    dir_start = struct.unpack_from("<I", data, 48)[0]
    fat_sector = struct.unpack_from("<I", data, 76)[0]
    struct.pack_into("<I", data, (fat_sector + 1) * 512 + 4 * dir_start, dir_start)  # points to itself
    assert (
        cfb.allocation_problem(BytesSource(bytes(data), "a.xls"))
        == "compound file with a sector chain that loops"
    )


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (hostile.xls_dimensions_wrapping, "a last row before the first: 2**32 - 141 rows reserved"),
        (hostile.xls_far_column, "a cell at column 65,536: a 65,536 x 65,536 rectangle laid out"),
        (
            hostile.xls_overlapping_sheets,
            "many sheets at one offset: the stream walked and scanned again each",
        ),
    ],
)
def test_workbook_records_calamine_would_size_from_are_neutralised(make, reason):
    """calamine sized a sheet from these records and aborted the process (`memory allocation of
    858993431200 bytes failed`); a copy with the records given a type it skips is read instead."""
    for size in (6_000, 60_000):
        data = make(size)
        ordinary = seeds.normal("xls", size)
        assert biff.sanitized(BytesSource(ordinary, "a.xls")) is None
        assert biff.sanitized(BytesSource(data, "a.xls")) is not None, reason
        assert Child().run("xls", data) is None, reason  # in a child: an abort fails the test, not the run
        [result] = run("xls", data)
        [normal] = run("xls", ordinary)
        assert result.status is Status.SCANNED
        for entity in ("CN_RESIDENT_ID", "CN_MOBILE", "CN_BANK_CARD"):
            # everything is read once (the far cell is the one value dropped: not at a cell Excel has)
            assert result.entities[entity].total == normal.entities[entity].total
        assert per_byte_ratio("xls", data, ordinary) < MAX_RATIO


# --- xlsx: calamine's dense layout --------------------------------------------------------------


def _ordinary_xlsx(make, size: int) -> bytes:
    """The ordinary workbook `make` starts from."""
    if make is hostile.xlsx_declared_strings:
        return hostile.xlsx_shared_strings(max(1, size // 110))
    return seeds.normal("xlsx", size)


XLSX_LAYOUTS = [
    (hostile.xlsx_far_cell, xlsxcheck.SPREAD),
    (hostile.xlsx_far_row, xlsxcheck.SPREAD),
    (hostile.xlsx_far_column, xlsxcheck.SPREAD),
    (hostile.xlsx_far_cell_by_position, xlsxcheck.SPREAD),
    (hostile.xlsx_declared_strings, xlsxcheck.STRINGS),
]


@pytest.mark.parametrize(("make", "problem"), XLSX_LAYOUTS)
def test_xlsx_calamine_would_lay_out_beyond_memory_is_read_sparsely(make, problem):
    """calamine lays a sheet out densely from its first to its last cell (A1 and XFD1048576: 549 GB)
    and reserves the declared shared strings up front (240 GB); the failed allocation aborted the
    process and the file was an `error` line. The pre-flight sends it to the sparse reader."""
    data = make(20_000)
    ordinary = _ordinary_xlsx(make, 20_000)
    assert xlsxcheck.allocation_problem(BytesSource(ordinary, "a.xlsx"), Limits()) is None
    assert xlsxcheck.allocation_problem(BytesSource(data, "a.xlsx"), Limits()) == problem
    assert Child().run("xlsx", data) is None  # in a child: an abort fails the test, not the run
    [result] = run("xlsx", data)
    [normal] = run("xlsx", ordinary)
    assert (result.status, result.reason, result.notes) == (Status.SCANNED, None, {"xlsx_read_sparse": 1})
    far = 0 if make is hostile.xlsx_declared_strings else 1  # the far cell holds one more ID
    ids = result.entities["CN_RESIDENT_ID"]
    assert (ids.distinct, ids.total) == (normal.entities["CN_RESIDENT_ID"].distinct + far, ids.distinct)
    for entity in ("CN_MOBILE", "CN_BANK_CARD", "CN_NAME"):
        assert result.entities[entity].total == normal.entities[entity].total
    # linear, but the sparse reader is Python against calamine's Rust: about 5-8x per byte here. A far
    # cell addressed by position also costs a fixed amount that 20,000 rows do not amortise: 10-20x
    # here, 35-45x at 5,000 rows, 9-15x at 60,000; it falls with size, where the failure this guards
    # against (cost growing faster than the input) would rise.
    bound = 3 if make is hostile.xlsx_far_cell_by_position else 2
    assert per_byte_ratio("xlsx", data, ordinary) < bound * MAX_RATIO


def through_the_pool(folder, names) -> dict:
    """Each file's one report line, read by two real worker processes as in a scan: a native abort
    would be that file's `error` line, not a crash of the test."""
    from dlpscan.pipeline import ScanSettings
    from dlpscan.workers import Task, WorkerPool

    tasks = [Task(i, str(folder / name), name) for i, name in enumerate(names)]
    pool = WorkerPool(2, ScanSettings(key=b"k"), file_timeout=240)
    try:
        done = {task.display: results for task, results in pool.run(iter(tasks))}
    finally:
        pool.close()
    return {name: result for name, [result] in done.items()}


def test_xlsx_hostile_layouts_are_scanned_by_the_worker_pool(tmp_path):
    """Through real worker processes (memory-capped as in a scan): a calamine abort would be an
    `error` line for the file, not a test crash. Each file's line is the one the same scanner
    gives in this process (the far cell's extra ID is checked in the test above)."""
    from dlpscan.pipeline import FileScanner, ScanSettings

    (tmp_path / "people.xlsx").write_bytes(seeds.xlsx(40))
    for make, _ in XLSX_LAYOUTS:
        (tmp_path / f"{make.__name__}.xlsx").write_bytes(make(20_000))
    names = sorted(p.name for p in tmp_path.iterdir())
    here = FileScanner(ScanSettings(key=b"k"))

    def counts(result) -> tuple:
        entities = {k: (v.distinct, v.total) for k, v in result.entities.items()}
        return result.status, result.reason, result.notes, entities

    expected = {name: counts(here.scan_path(tmp_path / name, name)[0]) for name in names}
    assert expected["people.xlsx"][3]["CN_RESIDENT_ID"] == (40, 40)
    found = {name: counts(result) for name, result in through_the_pool(tmp_path, names).items()}
    assert {name: c[0] for name, c in found.items()} == dict.fromkeys(names, Status.SCANNED)
    assert found == expected


@pytest.mark.parametrize(
    "cells",
    [
        '<row r="7"><c r="A7" s="0" r="XFD1048576"><v>1</v></c></row>',  # calamine takes the last r
        """<row r="7"><c r="A7" x='>' r="XFD1048576"><v>1</v></c></row>""",  # '>' inside quotes
        """<row r="7"><c r='XFD1048576'><v>1</v></c></row>""",
        '<row r="7"><c r = "XFD1048576"><v>1</v></c></row>',
        '<row r="7"><c\nr="xfd1048576"><v>1</v></c></row>',  # lower case, newline
        '<row r="7"><x:c r="XFD1048576" xmlns:x="urn:x"><x:v>1</x:v></x:c></row>',
        '<row r="7"><c r="XFD1048576" t="str"><v></v></c></row>',  # an empty string is a value
        '<row r="1048576"><!--</row><row r="1">-->' + "<c/>" * 16_383 + "<c><v>1</v></c></row>",
        '<row r="7"><c r="A4294967295"><v>1</v></c></row>',  # rows wrap at 2**32 as in calamine
    ],
)
def test_xlsx_pre_flight_sees_far_cells_however_written(cells):
    """Each way of writing a far cell that calamine reads as one is caught, by the byte-count path
    or by the walk that follows calamine's rules."""
    data = hostile.edit_sheet(
        seeds.xlsx(3), lambda xml: xml.replace(b"</sheetData>", cells.encode() + b"</sheetData>")
    )
    assert xlsxcheck.allocation_problem(BytesSource(data, "a.xlsx"), Limits()) == xlsxcheck.SPREAD
    assert Child().run("xlsx", data) is None


def test_xlsx_piece_searches_decide_as_counting_each_form():
    """The pre-flight's searches for an unusual piece equal the counts they replaced: as many `<c `
    as `<c r="`, as many `=` as `="`, and no white space before an `=`."""
    import re

    spaces = bytes.maketrans(b"\t\r\n", b"   ")

    def counted(p: bytes) -> bool:
        return bool(
            p.count(b"<c ") != p.count(b'<c r="')
            or re.search(rb"<c[\t\n\r/>]", p)
            or re.search(rb":c[\t\n\r />]", p)
            or p.count(b"=") != p.count(b'="')
            or b" =" in p.translate(spaces)
        )

    rng = random.Random(3)
    tokens = [
        b"<c",
        b" ",
        b"r=",
        b'"',
        b"=",
        b"\t",
        b"\n",
        b"\r",
        b"/",
        b">",
        b":c",
        b"A1",
        b"<row",
        b"x",
        b'<c r="',
    ]
    pieces = [b"".join(rng.choice(tokens) for _ in range(rng.randint(0, 12))) for _ in range(60_000)]
    assert {counted(p) for p in pieces} == {False, True}
    assert [p for p in pieces if xlsxcheck._unusual(p) != counted(p)] == []


def test_xlsx_piece_scan_in_c_answers_as_the_searches():
    """`_xlsxscan.piece_flags` (one pass in C) gives `xlsxcheck._piece_flags`' answer (the regular
    expressions) on pieces made of the tokens each search looks for, for any start and bounds."""
    from dlpscan import extensions

    compiled = extensions.load("dlpscan.extract._xlsxscan")
    if compiled is None:
        pytest.skip("the compiled xlsx scan is not built (or DLPSCAN_PURE_PYTHON is set)")
    rng = random.Random(11)
    tokens = [b"<c", b" ", b"r=", b"r", b"=", b'"', b"'", b"\t", b"\n", b"\r", b"\f", b"/", b">", b":c", b"<"]
    tokens += [
        b"uniqueCount",
        b'uniqueCount="',
        b"uniqueCount\t= '",
        b"unique",
        b"Count",
        b'<c r="',
        b' r="',
        b"0",
        b"7",
        b"12",
        b"999",
        b"1048577",
    ]
    tokens += [b"A", b"z", b"XFD", b"xfe", b"AB", b"x", b"12345678901234567890", b"000000000000000000001"]
    bounds = [None] + [xlsxcheck._bounds(w, cells) for w in (1, 4, 26, 27, 700) for cells in (9, 10_000_000)]
    flags = collections.Counter()
    for _ in range(40_000):
        piece = b"".join(rng.choice(tokens) for _ in range(rng.randint(0, 14)))
        start, strings, limit = rng.randint(0, len(piece)), rng.choice((0, 1, 11, 1024)), rng.choice(bounds)
        expected = xlsxcheck._piece_flags(piece, start, strings, limit)
        shape = (limit.columns, len(limit.rows), int(limit.rows[0])) if limit else (0, 0, 0)
        assert compiled.piece_flags(piece, start, strings, *shape) == expected, (piece, start, strings, limit)
        flags[expected] += 1
    assert set(flags) == {0, xlsxcheck.STRINGS_OVER, xlsxcheck.IRREGULAR, 3}  # every answer was tried
    beyond = 0  # well-formed cells, references on both sides of each bound
    for _ in range(20_000):
        limit = rng.choice(bounds[1:])
        refs = [
            "".join(rng.choice("ABIJYZabz") for _ in range(rng.randint(1, 2)))
            + str(rng.randint(0, 2 * int(limit.rows)))
            for _ in range(rng.randint(1, 2))
        ]
        piece = b"".join(b'<c r="%s"><v>1</v></c>' % r.encode() for r in refs)
        shape = (limit.columns, len(limit.rows), int(limit.rows[0]))
        expected = xlsxcheck._piece_flags(piece, 0, 1024, limit)
        assert compiled.piece_flags(piece, 0, 1024, *shape) == expected, (piece, limit)
        beyond += expected == xlsxcheck.IRREGULAR
    assert 2_000 < beyond < 18_000, beyond


def _with_member(data: bytes, name: str, body: bytes) -> bytes:
    import io
    import zipfile

    out = io.BytesIO(data)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_STORED) as zf:
        zf.writestr(name, body)
    return out.getvalue()


def _without_references(xml: bytes) -> bytes:
    import re

    return re.sub(rb' r="[A-Z]+[0-9]+"', b"", xml)


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("openpyxl, inline strings", lambda: seeds.xlsx(300)),
        ("XlsxWriter, shared strings", lambda: hostile.xlsx_shared_strings(300)),
        ("2,000 columns", lambda: hostile.xlsx_wide_rows(60_000)),
        (
            "a declared dimension of the whole sheet",
            lambda: hostile.edit_sheet(
                seeds.xlsx(30),
                lambda xml: xml.replace(b'<dimension ref="A1:E31"/>', b'<dimension ref="A1:XFD1048576"/>'),
            ),
        ),
        (
            "empty formatted cell at XFD1048576",
            lambda: hostile.edit_sheet(
                seeds.xlsx(30),
                lambda xml: xml.replace(
                    b"</sheetData>", b'<row r="1048576"><c r="XFD1048576" s="1"/></row></sheetData>'
                ),
            ),
        ),
        (
            "a cell at XFD1 (98,304 cells)",
            lambda: hostile.edit_sheet(seeds.xlsx(4), hostile.far_cell("XFD6")),
        ),
        ("cells without references", lambda: hostile.edit_sheet(seeds.xlsx(300), _without_references)),
        (
            "a 2 MB image",
            lambda: _with_member(
                seeds.xlsx(30), "xl/media/image1.png", random.Random(1).randbytes(2 * 1024**2)
            ),
        ),
    ],
)
def test_xlsx_pre_flight_leaves_ordinary_workbooks_to_calamine(name, make):
    data = make()
    assert xlsxcheck.allocation_problem(BytesSource(data, "a.xlsx"), Limits()) is None, name
    [result] = run("xlsx", data)
    assert result.status is Status.SCANNED and not result.notes, name


@pytest.mark.parametrize(
    ("kind", "make"),
    [
        ("xlsx", lambda: seeds.xlsx(50)),
        ("xlsx", lambda: hostile.xlsx_shared_strings(50)),
        ("ods", lambda: seeds.ods(50)),
        ("ods", lambda: _styled_ods(50)),
        ("xlsb", lambda: seeds.xlsb(50)),
    ],
)
def test_sparse_readers_find_what_calamine_finds(kind, make):
    data = make()
    [sparse] = run(f"{kind}_sparse", data)
    [dense] = run(kind, data)
    assert sparse.status is Status.SCANNED
    assert {k: (v.distinct, v.total) for k, v in sparse.entities.items()} == {
        k: (v.distinct, v.total) for k, v in dense.entities.items()
    }
    assert sparse.records == dense.records


# --- ods: calamine's dense layout ---------------------------------------------------------------

XLSB_LAYOUTS = [hostile.xlsb_far_cell, hostile.xlsb_far_column]
ODS_LAYOUTS = [  # (make, problem, copies of FAR_VALUE read)
    (hostile.ods_far_cell, xlsxcheck.SPREAD, 1),
    (hostile.ods_far_row, xlsxcheck.SPREAD, 1),
    (hostile.ods_repeated_value, xlsxcheck.SPREAD, odssparse.MAX_REPEAT**2),
    (hostile.ods_repeated_string, odslayout.TEXT, 1),  # 100 KB: one copy
]


def _ods_problem(data: bytes) -> str | None:
    return odscheck.allocation_problem(BytesSource(data, "a.ods"), Limits())


@pytest.mark.parametrize(("make", "problem", "copies"), ODS_LAYOUTS)
def test_ods_calamine_would_lay_out_beyond_memory_is_read_sparsely(make, problem, copies):
    """calamine lays every table out densely when it opens an ods, repeated cells and rows copied:
    a 17 KB file made it ask for 2.8 GB (far cell) or 5 GB (a repeated string) and abort. The
    pre-flight sends it to the sparse reader, which reads a short repeated value MAX_REPEAT times."""
    data = make(20_000)
    ordinary = seeds.normal("ods", 20_000)
    assert _ods_problem(ordinary) is None
    assert _ods_problem(data) == problem
    assert Child().run("ods", data) is None  # in a child: an abort fails the test, not the run
    [result] = run("ods", data)
    [normal] = run("ods", ordinary)
    assert (result.status, result.reason, result.notes) == (Status.SCANNED, None, {"ods_read_sparse": 1})
    ids, usual = result.entities["CN_RESIDENT_ID"], normal.entities["CN_RESIDENT_ID"]
    assert (ids.distinct, ids.total) == (usual.distinct + 1, usual.total + copies)
    for entity in ("CN_MOBILE", "CN_BANK_CARD", "CN_NAME"):
        assert result.entities[entity].total == normal.entities[entity].total
    assert per_byte_ratio("ods", data, ordinary) < 2 * MAX_RATIO


def test_ods_and_xlsb_hostile_layouts_are_scanned_by_the_worker_pool(tmp_path):
    """Through real, memory-capped worker processes: an abort would be the file's `error` line."""
    [normal] = run("ods", seeds.normal("ods", 20_000))
    usual = normal.entities["CN_RESIDENT_ID"].distinct
    expected = {"people.ods": 40}
    (tmp_path / "people.ods").write_bytes(seeds.ods(40))
    for make, _, _ in ODS_LAYOUTS:
        (tmp_path / f"{make.__name__}.ods").write_bytes(make(20_000))
        expected[f"{make.__name__}.ods"] = usual + 1
    [normal] = run("xlsb", seeds.normal("xlsb", 20_000))
    for make in XLSB_LAYOUTS:
        (tmp_path / f"{make.__name__}.xlsb").write_bytes(make(20_000))
        expected[f"{make.__name__}.xlsb"] = normal.entities["CN_RESIDENT_ID"].distinct + 1
    found = {}
    for name, result in through_the_pool(tmp_path, expected).items():
        assert result.status is Status.SCANNED, name
        found[name] = result.entities["CN_RESIDENT_ID"].distinct
    assert found == expected


_FAR_ROW = (
    '<table:table-row><table:table-cell table:number-columns-repeated="16000"/>'
    + seeds.ods_cell(hostile.FAR_VALUE)
    + "</table:table-row>"
)


@pytest.mark.parametrize(
    "rows",
    [
        '<table:table-row table:number-rows-repeated="&#53;000"><table:table-cell/></table:table-row>'
        + _FAR_ROW,
        '<table:table-row table:number-rows-repeated="+5000"><table:table-cell/></table:table-row>'
        + _FAR_ROW,
        "<table:table-row table:number-rows-repeated = '5000'><table:table-cell/></table:table-row>"
        + _FAR_ROW,
        '<table:table-row table:number-rows-repeated="5000"/>' + _FAR_ROW,  # self-closed rows
        '<table:table-row table:number-rows-repeated="5000"><!-- </table:table-row> --></table:table-row>'
        + _FAR_ROW,
        '<table:table-row table:number-rows-repeated="5000" x="<table:table-row>"><table:table-cell/>'
        "</table:table-row>" + _FAR_ROW,
        '<table:table-row table:number-rows-repeated="5000"><table:table-cell/></table:table-row>'
        '<table:table-row><table:covered-table-cell table:number-columns-repeated="16000"/>'
        '<table:table-cell table:formula="of:=1"/></table:table-row>',  # a formula is laid out too
    ],
)
def test_ods_pre_flight_sees_far_cells_however_written(rows):
    """Each way of writing a far cell that calamine reads as one is caught, by the searches over
    whole rows or by the walk that follows calamine's rules."""
    data = hostile.edit_content(seeds.ods(3), hostile.ods_rows(rows))
    assert _ods_problem(data) == xlsxcheck.SPREAD
    assert Child().run("ods", data) is None
    [result] = run("ods", data)
    assert result.status is Status.SCANNED


def test_ods_pre_flight_sums_the_tables_calamine_holds_at_once():
    """Three tables of 8 million laid-out cells each: each within the cell limit, not together."""
    table = (
        '<table:table table:name="t{}"><table:table-row>'
        + seeds.ods_cell("x")
        + '</table:table-row><table:table-row table:number-rows-repeated="9998"><table:table-cell/>'
        '</table:table-row><table:table-row><table:table-cell table:number-columns-repeated="799"/>'
        + seeds.ods_cell("y")
        + "</table:table-row></table:table>"
    )
    one = seeds.ods_package(table.format(1))
    three = seeds.ods_package("".join(map(table.format, range(3))))
    assert _ods_problem(one) is None
    assert _ods_problem(three) == xlsxcheck.SPREAD


def test_ods_repeated_spaces_are_bounded():
    cell = (
        '<table:table-cell table:number-columns-repeated="1000" office:value-type="string">'
        '<text:p>x<text:s text:c="2000000"/></text:p></table:table-cell>'
    )
    data = hostile.edit_content(seeds.ods(3), hostile.ods_rows(f"<table:table-row>{cell}</table:table-row>"))
    assert _ods_problem(data) == odslayout.TEXT
    assert Child().run("ods", data) is None


def test_ods_repeated_strings_are_counted_in_bytes():
    """100,000 Chinese characters repeated 4,000 times: 400 million characters but 1.2 GB for
    calamine (UTF-8). The entity in the row count sends the file to the walk, which counts bytes."""
    cell = (
        '<table:table-cell table:number-columns-repeated="1000" office:value-type="string">'
        f"<text:p>{'张' * 100_000}</text:p></table:table-cell>"
    )
    row = f'<table:table-row table:number-rows-repeated="&#52;">{cell}</table:table-row>'
    data = hostile.edit_content(seeds.ods(3), hostile.ods_rows(row))
    assert _ods_problem(data) == odslayout.TEXT


def _styled_ods(n: int) -> bytes:
    """Styled empty cells between and after the values and a non-empty row repeated 100 times,
    as LibreOffice writes formatted columns and filled-down values."""
    styled = '<table:table-cell table:style-name="ce1" table:number-columns-repeated="3"/>'
    rows = "".join(
        f"<table:table-row>{''.join(map(seeds.ods_cell, p))}{styled}"
        '<table:table-cell table:number-columns-repeated="1016"/></table:table-row>'
        for p in seeds.people(n)
    )
    repeated = f'<table:table-row table:number-rows-repeated="100">{seeds.ods_cell("同上")}{styled}</table:table-row>'
    return hostile.edit_content(seeds.ods(1), hostile.ods_rows(rows + repeated))


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("LibreOffice-like rows and filler", lambda: seeds.ods(300)),
        ("styled empty cells, a repeated row", lambda: _styled_ods(300)),
        (
            "a 2 MB picture",
            lambda: _with_member(seeds.ods(30), "Pictures/1.png", random.Random(1).randbytes(2 * 1024**2)),
        ),
        (
            "CJK sheet names and a picture",
            lambda: EXTERNAL.joinpath("cjk_sheet_names_with_picture.ods").read_bytes(),
        ),
        (
            "hidden sheets",
            lambda: EXTERNAL.joinpath("robust_hidden_veryhidden_chart_sheets.ods").read_bytes(),
        ),
    ],
)
def test_ods_pre_flight_leaves_ordinary_workbooks_to_calamine(name, make):
    data = make()
    assert _ods_problem(data) is None, name
    with zipfile.ZipFile(io.BytesIO(data)) as zf:  # settled by the searches, never walked
        assert odsbulk.within(io.BytesIO(zf.read("content.xml")).read, odslayout.Layout(Limits())), name
    [result] = run("ods", data)
    assert result.status is Status.SCANNED and not result.notes, name


def test_an_ods_calamine_cannot_parse_is_read_sparsely():
    """calamine fails a whole workbook on text between a row's cells (an indented content.xml):
    the file was an `error` line with its content unread."""
    data = hostile.edit_content(
        seeds.ods(20), lambda xml: xml.replace(b"</table:table-cell>", b"</table:table-cell>\n  ")
    )
    [result] = run("ods", data)
    [normal] = run("ods", seeds.ods(20))
    assert (result.status, result.notes) == (Status.SCANNED, {"ods_read_sparse": 1})
    assert result.entities["CN_RESIDENT_ID"].total == normal.entities["CN_RESIDENT_ID"].total == 20


def test_an_ods_whose_content_breaks_off_is_partial_with_what_was_read():
    data = hostile.edit_content(hostile.ods_far_cell(20_000), lambda xml: xml[: len(xml) // 2])
    [result] = run("ods", data)
    assert result.status is Status.PARTIAL and result.entities["CN_RESIDENT_ID"].total > 0


RENAMED = str(odsns.Renamed())


def _counts(result) -> dict[str, tuple[int, int]]:
    return {k: (v.distinct, v.total) for k, v in result.entities.items()}


@pytest.mark.parametrize("name", hostile.ODS_NAMESPACES)
def test_an_ods_whose_namespaces_calamine_cannot_see_is_read_sparsely(name):
    """calamine matches `table:table-row`, `text:p`... as written: it lists no sheet in an ods that
    binds the OpenDocument namespaces to other prefixes, and the file was scanned empty."""
    data = hostile.edit_content(seeds.ods(20), hostile.ODS_NAMESPACES[name])
    assert calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)).sheet_names == [], name
    assert _ods_problem(data) == RENAMED, name
    [result] = run("ods", data)
    [normal] = run("ods", seeds.ods(20))
    assert (result.status, result.reason, result.notes) == (Status.SCANNED, None, {"ods_read_sparse": 1}), (
        name
    )
    assert _counts(result) == _counts(normal), name
    assert result.entities["CN_RESIDENT_ID"].total == 20 and result.entities["CN_MOBILE"].total == 21, name
    assert result.records == normal.records, name


def test_an_ods_with_renamed_namespaces_is_bounded_by_the_sparse_reader():
    """Never reaching calamine, a far cell under other prefixes is bounded by the sparse reader."""
    data = hostile.edit_content(hostile.ods_far_cell(20_000), hostile.ods_prefixes({"table": "t"}))
    assert _ods_problem(data) == RENAMED
    assert Child().run("ods", data) is None
    [result] = run("ods", data)
    [normal] = run("ods", seeds.normal("ods", 20_000))
    assert (result.status, result.notes) == (Status.SCANNED, {"ods_read_sparse": 1})
    ids, usual = result.entities["CN_RESIDENT_ID"], normal.entities["CN_RESIDENT_ID"]
    assert (ids.distinct, ids.total) == (usual.distinct + 1, usual.total + 1)


def test_standard_prefixes_declared_again_below_the_root_are_left_to_calamine():
    declaration = b' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
    data = hostile.edit_content(
        seeds.ods(20), lambda xml: xml.replace(b"<office:body>", b"<office:body" + declaration + b">", 1)
    )
    assert _ods_problem(data) is None
    [result] = run("ods", data)
    assert result.status is Status.SCANNED and not result.notes
    assert result.entities["CN_RESIDENT_ID"].total == 20


def test_renamed_attributes_keep_their_values():
    attrs = b' t:name="t:x" x=\'a t:b\' t:formula = "of:=1"'
    events = [(sheetxml.START, b"r", b' xmlns:t="urn:oasis:names:tc:opendocument:xmlns:table:1.0"')]
    events += [(sheetxml.START, b"t:c", attrs), (sheetxml.END, b"t:c", b""), (sheetxml.END, b"r", b"")]
    events += [(sheetxml.START, b"t:c", attrs)]  # the declaration is out of scope
    out = list(odsns.standard(iter(events)))
    assert out[1:3] == [
        (sheetxml.START, b"table:c", b' table:name="t:x" x=\'a t:b\' table:formula = "of:=1"'),
        (sheetxml.END, b"table:c", b""),
    ]
    assert out[4] == events[4]


def test_ods_with_renamed_namespaces_are_scanned_by_the_worker_pool(tmp_path):
    names = ["people.ods"]
    (tmp_path / "people.ods").write_bytes(seeds.ods(40))
    for i, edit in enumerate(hostile.ODS_NAMESPACES.values()):
        names.append(f"renamed{i}.ods")
        (tmp_path / names[-1]).write_bytes(hostile.edit_content(seeds.ods(40), edit))
    found = {
        name: (result.status, result.entities["CN_RESIDENT_ID"].total, result.entities["CN_MOBILE"].total)
        for name, result in through_the_pool(tmp_path, names).items()
    }
    assert found == {name: (Status.SCANNED, 40, 41) for name in names}


# --- xlsb: calamine's dense layout --------------------------------------------------------------


def _xlsb_problem(data: bytes) -> str | None:
    return xlsbcheck.allocation_problem(BytesSource(data, "a.xlsb"), Limits())


@pytest.mark.parametrize("make", XLSB_LAYOUTS)
def test_xlsb_calamine_would_lay_out_beyond_memory_is_read_sparsely(make):
    """calamine lays an xlsb sheet out densely as an xlsx one, a column being any u32: A1 and
    XFD1048576 made it ask for 549 GB and abort. The pre-flight sends it to the sparse reader."""
    data = make(20_000)
    ordinary = seeds.normal("xlsb", 20_000)
    assert _xlsb_problem(ordinary) is None
    assert _xlsb_problem(data) == xlsxcheck.SPREAD
    assert Child().run("xlsb", data) is None
    [result] = run("xlsb", data)
    [normal] = run("xlsb", ordinary)
    assert (result.status, result.reason, result.notes) == (Status.SCANNED, None, {"xlsb_read_sparse": 1})
    ids, usual = result.entities["CN_RESIDENT_ID"], normal.entities["CN_RESIDENT_ID"]
    assert (ids.distinct, ids.total) == (usual.distinct + 1, usual.total + 1)
    for entity in ("CN_MOBILE", "CN_BANK_CARD", "CN_NAME"):
        assert result.entities[entity].total == normal.entities[entity].total
    assert per_byte_ratio("xlsb", data, ordinary) < 2 * MAX_RATIO


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("people", lambda: seeds.xlsb(300)),
        (
            "hidden sheets",
            lambda: EXTERNAL.joinpath("robust_hidden_veryhidden_chart_sheets.xlsb").read_bytes(),
        ),
    ],
)
def test_xlsb_pre_flight_leaves_ordinary_workbooks_to_calamine(name, make):
    data = make()
    assert _xlsb_problem(data) is None, name
    [result] = run("xlsb", data)
    assert result.status is Status.SCANNED and not result.notes, name


def test_xlsb_pre_flight_checks_the_sheets_after_a_broken_one():
    """A sheet that breaks off fails in calamine alone: the far cell on the next one still counts."""
    from fuzz import binary12

    far = binary12.row_header(1_048_575) + binary12.cell(16_383, hostile.FAR_VALUE)
    broken = binary12.sheet(binary12.rows([("a",)]), (0, 0, 0, 0))[:-3]
    whole = ("b", binary12.rows([seeds.HEADER, *seeds.people(3)]) + far, (0, 0, 0, 0))
    data = binary12.workbook(("a", broken, None), whole)
    assert _xlsb_problem(data) == xlsxcheck.SPREAD
    assert Child().run("xlsb", data) is None
    [result] = run("xlsb", data)
    assert result.entities["CN_RESIDENT_ID"].total == 4


def test_an_xlsb_calamine_panics_on_is_read_sparsely():
    """A sheet whose relationship is missing made calamine panic while opening the workbook (found
    by fuzzing): the file was an `error` line. The sparse reader opens it (and skips that sheet,
    as it has no part)."""
    rid = "rId1".encode("utf-16-le")
    data = hostile.edit_sheet(
        seeds.xlsb(5), lambda book: book.replace(rid, "rId9".encode("utf-16-le")), "xl/workbook.bin"
    )
    [result] = run("xlsb", data)
    assert (result.status, result.error, result.notes) == (Status.SCANNED, None, {"xlsb_read_sparse": 1})


def test_a_long_pptx_table_is_linear():
    """python-pptx finds a table row by index with an XPath over all rows, so reading a table row
    by row was quadratic (found measuring bench_extract.py --adversarial: 2,000 rows took 40x the
    CPU of 250). Per byte, a table 8x longer may not cost more than 3x (quadratic: about 9x)."""
    from fuzz.ratio import cpu_seconds

    small, large = seeds.pptx_file(250), seeds.pptx_file(2_000)
    [result] = run("pptx", large)
    assert result.entities["CN_RESIDENT_ID"].distinct == 2_000
    targets.scanner()
    per_byte = [cpu_seconds("pptx", data, repeat=2) / len(data) for data in (small, large)]
    assert per_byte[1] / per_byte[0] < 3


def test_library_warnings_never_reach_stdout(capsys):
    """xlrd prints warnings to stdout by default; a report on stdout would get non-JSON lines."""
    data = seeds.xls(3) + b"\x00" * 100  # a size that is not a whole number of sectors: xlrd warns
    blocks = list(read_spreadsheet(BytesSource(data, "a.xls"), Context(Limits()), XLS, engine="xlrd"))
    assert sum(len(b.rows) for b in blocks if hasattr(b, "rows")) == 4  # 3 people, 1 note on sheet 2
    assert capsys.readouterr().out == ""


# --- SQL dumps ---------------------------------------------------------------------------------


def test_sql_unterminated_quote_over_many_lines_is_linear():
    """The growing value was re-tokenised from its start with every new line (quadratic)."""
    hostile = ("INSERT INTO t VALUES ('" + "ab''c\n" * 8_000).encode()
    assert per_byte_ratio("sql", hostile, same_size("sql", hostile)) < MAX_RATIO


def test_sql_unclosed_create_table_is_linear():
    hostile = ("CREATE TABLE t (\n" + "name varchar(20),\n" * 4_000).encode()
    assert per_byte_ratio("sql", hostile, same_size("sql", hostile)) < MAX_RATIO


def test_sql_value_spanning_lines_keeps_its_escapes_and_a_value_open_at_the_end_is_read():
    person = seeds.person(1)
    dump = (
        f"INSERT INTO t (note, id) VALUES ('line one\nit''s \\'two\\'\n{person[2]}', '{person[1]}');\n"
        f"INSERT INTO t (note, id) VALUES ('never closed {person[1]}\nmore"
    ).encode()
    [result] = run("sql", dump)
    assert result.entities["CN_MOBILE"].total == 1
    assert result.entities["CN_RESIDENT_ID"].total == 2  # the second one in the value left open


# --- e-mail headers ----------------------------------------------------------------------------


def _eml(header: bytes) -> bytes:
    return header + b"\n\n" + f"证件号码 {seeds.person(2)[1]}\n".encode()


def test_eml_hostile_headers_are_linear_and_the_body_is_still_read():
    """policy.default parsed these headers in quadratic time (or hit the recursion limit)."""
    for header in (
        b"To: " + b'"a",' * 8_000,  # many quoted strings
        b"Content-Type: text/plain" + b';a="b' * 8_000,  # many parameters (stdlib _parseparam)
        b"Subject: " + b"=?utf-8?q?a?= " * 8_000,  # many encoded words
        b"From: " + b"(" * 8_000,  # nested comments: RecursionError
    ):
        hostile = _eml(header)
        [result] = run("eml", hostile)
        assert result.status is Status.SCANNED
        assert result.entities["CN_RESIDENT_ID"].distinct == 1
        assert per_byte_ratio("eml", hostile, same_size("eml", hostile)) < MAX_RATIO


def test_eml_headers_are_decoded():
    from dlpscan.extract.mail import header_text, split_params

    assert header_text("=?utf-8?b?546L5LqU?= <wang@example.com>") == "王五 <wang@example.com>"
    assert split_params('text/plain; charset="gb2312"; name="a;b.csv"') == [
        "text/plain",
        'charset="gb2312"',
        'name="a;b.csv"',
    ]


def test_eml_header_parameters_are_split_once_per_header(monkeypatch):
    """The file name and the charset each ask for the Content-Type's parameters: a header of many
    parameters is split once, not once per question."""
    from dlpscan.extract import mail

    asked: list[str] = []
    splits: list[str] = []
    params, split = mail._Message._get_params_preserve, mail.split_params
    monkeypatch.setattr(
        mail._Message, "_get_params_preserve", lambda m, fail, h: asked.append(h) or params(m, fail, h)
    )
    monkeypatch.setattr(mail, "split_params", lambda value: splits.append(value) or split(value))
    message = (
        b"Content-Type: text/plain; charset=utf-8; a=1; b=2\n\n" + f"证件号码 {seeds.person(2)[1]}\n".encode()
    )
    [result] = run("eml", message)
    assert result.status is Status.SCANNED and result.entities["CN_RESIDENT_ID"].distinct == 1
    assert asked == ["content-type", "content-type"] and len(splits) == 1


# --- wide tables: memory bounded by cells, not rows ---------------------------------------------


def test_wide_table_blocks_hold_a_bounded_number_of_cells():
    from fuzz.targets import documents_for

    hostile = b"a,b\n" + (b"," * 2_000 + b"\n") * 200
    limits_cells = Limits().table_block_cells
    [doc] = documents_for("csv", hostile)
    blocks = list(doc.blocks)
    assert sum(len(b.rows) for b in blocks) == 201  # "a,b" is no header for 2,001 columns
    assert all(sum(len(r) for r in b.rows) <= limits_cells for b in blocks)
    assert len(blocks) > 1


def _chunked_row_by_row(rows: list[tuple[str, ...]], header: tuple[str, ...], max_rows: int, max_cells: int):
    """tables.chunk_rows as first written, one row at a time: the reference of its block-at-a-time cut."""
    out, block, cells, first = [], [], 0, 1
    for row in rows:
        if len(row) > max_cells:
            if block:
                out.append((header, block, first))
                first, block, cells = first + len(block), [], 0
            for i in range(0, len(row), max_cells):
                out.append((header[i : i + max_cells], [row[i : i + max_cells]], first))
            first += 1
            continue
        if block and (len(block) >= max_rows or cells + len(row) > max_cells):
            out.append((header, block, first))
            first, block, cells = first + len(block), [], 0
        block.append(row)
        cells += len(row)
    if block:
        out.append((header, block, first))
    return out


@settings(max_examples=300, deadline=None)
@given(
    widths=st.lists(st.integers(0, 12), max_size=60),
    max_rows=st.integers(1, 8),
    max_cells=st.integers(1, 30),
    buffered=st.integers(0, 5),
)
def test_table_blocks_are_cut_as_row_by_row(widths: list[int], max_rows: int, max_cells: int, buffered: int):
    rows = [tuple(f"{r}.{c}" for c in range(w)) for r, w in enumerate(widths)]
    header = tuple(f"h{c}" for c in range(12))
    ctx = Context(Limits(table_block_rows=max_rows, table_block_cells=max_cells))
    blocks = tables.chunk_rows(rows[:buffered], iter(rows[buffered:]), header, ctx, "t", 1)
    assert [(b.header, list(b.rows), b.first_row) for b in blocks] == _chunked_row_by_row(
        rows, header, max_rows, max_cells
    )


# --- limits: what was read before is reported as partial ---------------------------------------


def _scanner(**limits):
    from dlpscan.pipeline import FileScanner, ScanSettings

    return FileScanner(ScanSettings(key=b"k", limits=Limits(**limits)))


def test_a_document_broken_after_readable_records_is_partial_with_its_findings(tmp_path):
    records = "".join(f"<p><name>{p[0]}</name><id>{p[1]}</id></p>" for p in seeds.people(4))
    path = tmp_path / "people.xml"
    path.write_text(f"<r>{records}<p><broken", encoding="utf-8")
    [result] = _scanner(table_block_rows=2).scan_path(path, path.name)
    assert result.status is Status.PARTIAL
    assert result.reason.startswith("ParseError: malformed XML")
    assert result.entities["CN_RESIDENT_ID"].distinct == 4


def test_a_csv_field_beyond_the_field_limit_stops_the_read_and_the_blocks_before_it_count(tmp_path):
    people = seeds.people(3000)
    lines = ['"姓名","身份证号","备注"', *(f'"{p[0]}","{p[1]}","ok"' for p in people)]
    lines.append('"x","y","' + ("z" * 100_000 + "\n") * 90 + '"')  # one quoted field of 9 M characters
    path = tmp_path / "export.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    [result] = _scanner(table_block_rows=1000).scan_path(path, path.name)
    assert result.status is Status.PARTIAL
    assert result.reason.startswith("csv.Error: malformed delimited text")
    assert result.entities["CN_RESIDENT_ID"].total == 3000  # the rows before the field, in full blocks


def test_the_per_file_time_limit_reports_what_was_read_before_it(tmp_path):
    path, warm_up = tmp_path / "big.txt", tmp_path / "small.txt"
    path.write_bytes(seeds.plain_text(60_000) * 4)  # 35 MB: about ten times 0.1 s of work, or more
    warm_up.write_bytes(seeds.plain_text(1))
    scanner = _scanner(text_block_chars=20_000)
    scanner.scan_path(warm_up, warm_up.name)  # what a first scan sets up is not part of the budget
    [result] = scanner.scan_path(path, path.name, time_limit=0.1)
    assert result.status is Status.PARTIAL
    assert result.reason.startswith("per-file time limit reached")
    assert 0 < result.entities["CN_RESIDENT_ID"].total < 4 * 60_000


def test_members_that_killed_a_worker_are_not_read_again(tmp_path):
    path = tmp_path / "x.zip"
    path.write_bytes(seeds.zip_file({"a.csv": seeds.delimited(3), "b.csv": seeds.delimited(2)}))
    seen = []
    results = _scanner().scan_path(path, "x.zip", skip=frozenset({"x.zip!b.csv"}), on_document=seen.append)
    assert [(r.path, r.status) for r in results] == [
        ("x.zip", Status.SCANNED),
        ("x.zip!a.csv", Status.SCANNED),
        ("x.zip!b.csv", Status.ERROR),
    ]
    assert seen == ["x.zip", "x.zip!a.csv"]
    assert results[1].entities["CN_RESIDENT_ID"].distinct == 3


def test_a_worker_that_dies_is_replaced_and_its_file_retried_once_without_the_member(tmp_path):
    """The worker is killed (as a native abort would) while it reads one archive member."""
    import os
    import signal
    import threading

    from dlpscan.pipeline import ScanSettings
    from dlpscan.workers import Task, WorkerPool

    slow = seeds.plain_text(40_000)  # a few seconds of reading: time to kill the worker meanwhile
    path = tmp_path / "x.zip"
    path.write_bytes(seeds.zip_file({"a.csv": seeds.delimited(3), "slow.txt": slow}))
    pool = WorkerPool(1, ScanSettings(key=b"k"), file_timeout=120)
    killed = threading.Event()

    def kill_on_slow_member() -> None:
        while not killed.is_set():
            for w in list(pool._workers):
                if w.reading == "x.zip!slow.txt" and w.process.pid:
                    os.kill(w.process.pid, signal.SIGKILL)
                    killed.set()
            killed.wait(0.01)

    watcher = threading.Thread(target=kill_on_slow_member, daemon=True)
    watcher.start()
    try:
        [(task, results)] = list(pool.run(iter([Task(1, str(path), "x.zip")])))
    finally:
        killed.set()
        pool.close()
    assert task.retry and task.skip == ("x.zip!slow.txt",)
    assert [(r.path, r.status) for r in results] == [
        ("x.zip", Status.SCANNED),
        ("x.zip!a.csv", Status.SCANNED),
        ("x.zip!slow.txt", Status.ERROR),
    ]


def test_a_worker_names_only_the_members_it_reads():
    from dlpscan.workers import _announce

    class Pipe(list):
        send = list.append

    pipe = Pipe()
    for path in ("x.zip", "x.zip!a.csv", "x.zip!inner.zip!b.csv"):
        _announce(pipe, "x.zip", path)
    assert pipe == [("reading", "x.zip!a.csv"), ("reading", "x.zip!inner.zip!b.csv")]


# --- one broken part must not hide the rest ----------------------------------------------------


def _rezip(data: bytes, drop: str = "", replace: dict[str, bytes] | None = None) -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != drop:
                dst.writestr(info.filename, (replace or {}).get(info.filename, src.read(info)))
    return out.getvalue()


def test_a_missing_sheet_does_not_end_the_workbook():
    data = _rezip(seeds.xlsx(3), replace={"xl/worksheets/sheet1.xml": b"<worksheet><sheetData><row>"})
    [result] = run("xlsx", data)
    assert (result.status, result.reason) == (
        Status.PARTIAL,
        "unreadable part(s) skipped: sheet 客户; what was read before is reported",
    )
    assert result.entities["CN_MOBILE"].distinct == 1  # on the hidden second sheet


def test_a_malformed_docx_part_does_not_end_the_document():
    """python-docx refuses the whole package for one malformed part: every Word part is then read on
    its own with a recovering parser."""
    data = _rezip(seeds.docx_file(3), replace={"word/header1.xml": b"<w:hdr><w:p>"})
    [result] = run("docx", data)
    assert result.status is Status.PARTIAL and "package structure" in result.reason
    assert result.entities["CN_RESIDENT_ID"].distinct == 3


def test_a_docx_without_content_types_is_read_part_by_part():
    data = _rezip(seeds.docx_file(3), drop="[Content_Types].xml")
    [result] = run("docx", data)
    assert result.status is Status.PARTIAL and "package structure" in result.reason
    assert result.entities["CN_RESIDENT_ID"].distinct == 3
    assert result.entities["CN_MOBILE"].total == 4  # 3 in the table, 1 in the page header


def test_a_zip_with_a_broken_mimetype_member_is_still_listed(tmp_path):
    import io
    import zipfile

    from dlpscan.extract.sniff import sniff

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")  # stored
        zf.writestr("a.csv", seeds.delimited(3), zipfile.ZIP_DEFLATED)
    data = bytearray(out.getvalue())
    data[data.index(b"application/vnd.oasis") + 3] ^= 0xFF  # its CRC no longer matches: reading it fails
    path = tmp_path / "x.bin"
    path.write_bytes(bytes(data))
    assert sniff(path) == "application/zip"


def test_utf16_chinese_text_without_bom_is_read():
    from dlpscan.extract.sniff import sniff

    text = "\n".join(f"客户{p[0]}，住址：{p[4]}，联系人身份证号码已登记" for p in seeds.people(20))
    data = text.encode("utf-16-le")
    assert sniff(data, "export.dat") == "text/plain"  # libmagic alone says application/octet-stream
    assert sniff(text.encode("utf-8"), "export.dat") == "text/plain"


def test_time_box_interrupts_python_code_and_restores_the_outer_alarm():
    import signal

    from dlpscan.extract.context import TimeBoxExpired, time_box

    previous = signal.signal(signal.SIGALRM, lambda *_: None)
    signal.setitimer(signal.ITIMER_REAL, 30)
    try:
        try:
            with time_box(0.05):
                while True:
                    pass
        except TimeBoxExpired:
            pass
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 25 < left <= 30
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_partial_files_are_listed_among_the_report_coverage_gaps(tmp_path):
    from dlpscan.policy import load_policy
    from dlpscan.report import Options, collect
    from dlpscan.store import Store

    records = "".join(f"<p><name>{p[0]}</name><id>{p[1]}</id></p>" for p in seeds.people(4))
    path = tmp_path / "people.xml"
    path.write_text(f"<r>{records}<p><broken", encoding="utf-8")
    [result] = _scanner(table_block_rows=2).scan_path(path, str(path))
    with Store.open(str(tmp_path / "store.sqlite")) as store:
        scan = store.begin_scan(
            [str(tmp_path)],
            policy="default",
            policy_version=load_policy("default").version,
            detector_version="test",
            options={},
        )
        store.record_results(scan, [result])
        store.finish_scan(scan, status="completed", stats={"files": 1})
        data = collect(store, Options())
    assert [(r.path, r.status) for r in data.gaps] == [(str(path), "partial")]
    assert dict(data.gap_counts) == {("partial", result.reason): 1}
