"""Spreadsheet extraction on generated workbooks: hidden sheets, header detection, damaged floats."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from read_document import read

from dlpscan.extract import Limits
from dlpscan.extract.context import Context
from dlpscan.extract.excel import read_spreadsheet
from dlpscan.extract.sniff import XLSX
from dlpscan.extract.source import FileSource
from dlpscan.extract.tables import render_cell
from dlpscan.model import Status, TableBlock, TextBlock

EXTERNAL_DOCS = Path(__file__).resolve().parent / "data" / "external" / "docs"


@pytest.fixture
def workbook(tmp_path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "客户"
    ws.append(["客户信息导出"])
    ws.append(["导出时间", dt.datetime(2024, 3, 15, 9, 30)])
    ws.append(["姓名", "证件号码", "手机号码", "开户日期", "余额"])
    ws.append(["张三", 110101199003077777.0, 13800138000.0, dt.datetime(2020, 11, 23), 261621.36])
    ws.append(["李四", "11010119900307001X", 13900139000, dt.date(2021, 1, 2), 5.0])
    hidden = wb.create_sheet("隐藏")
    hidden.sheet_state = "hidden"
    hidden.append(["卡号", "持卡人"])
    hidden.append([6222020200112233445.0, "王五"])
    very = wb.create_sheet("veryhidden")
    very.sheet_state = "veryHidden"
    very.append(["备注", "电话"])
    very.append(["secret", "13700137000"])
    path = tmp_path / "customers.xlsx"
    wb.save(path)
    return path


EXPECTED = [
    TextBlock("客户信息导出\n导出时间\t2024-03-15 09:30:00", "sheet 客户 rows 1-2"),
    TableBlock(
        header=("姓名", "证件号码", "手机号码", "开户日期", "余额"),
        rows=[
            ("张三", "110101199003078000", "13800138000", "2020-11-23", "261621.36"),
            ("李四", "11010119900307001X", "13900139000", "2021-01-02", "5"),
        ],
        location="sheet 客户",
        first_row=4,
    ),
    TableBlock(("卡号", "持卡人"), [("6222020200112230000", "王五")], "sheet 隐藏", 2),
    TableBlock(("备注", "电话"), [("secret", "13700137000")], "sheet veryhidden", 2),
]


def test_xlsx_hidden_sheets_header_row_and_damaged_floats(workbook):
    doc, status, _, blocks = read(workbook)
    assert (doc.media_type, status) == (XLSX, Status.SCANNED)
    # the width of a row follows the sheet's used range: pad expected rows the same way
    assert [_trim(b) for b in blocks] == EXPECTED
    assert doc.notes == {"excel_float_damaged": 2}


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_each_engine_on_its_own(workbook, engine):
    ctx = Context(Limits())
    blocks = list(read_spreadsheet(FileSource(workbook), ctx, XLSX, engine=engine))
    assert [_trim(b) for b in blocks] == EXPECTED
    assert ctx.notes == {"excel_float_damaged": 2}


def _trim(block):
    """Drop trailing empty cells (engines differ in how far they pad a row to the sheet width)."""

    def cut(row):
        row = list(row)
        while row and row[-1] == "":
            row.pop()
        return tuple(row)

    if isinstance(block, TableBlock):
        return TableBlock(cut(block.header), [cut(r) for r in block.rows], block.location, block.first_row)
    return block


def test_render_cell():
    ctx = Context(Limits())
    assert render_cell(13800138000.0, ctx) == "13800138000"
    assert render_cell(6.2220202001122e18, ctx) == "6222020200112200000"
    assert render_cell(1e15, ctx) == "1000000000000000"
    assert render_cell(0.1 + 0.2) == "0.3"  # 15 significant digits, as Excel shows it
    assert render_cell(123456789012345.0) == "123456789012345"
    assert render_cell(-3.0) == "-3"
    assert render_cell(True) == "TRUE"
    assert render_cell(None) == ""
    assert render_cell(dt.datetime(2024, 1, 2)) == "2024-01-02"
    assert render_cell(dt.datetime(2024, 1, 2, 3, 4, 5)) == "2024-01-02 03:04:05"
    assert render_cell(dt.time(8, 30)) == "08:30:00"
    assert ctx.notes == {"excel_float_damaged": 2}


def test_cell_limit(workbook):
    _, status, reason, _ = read(workbook, Limits(max_cells_per_sheet=10))
    assert (status, reason) == (Status.SKIPPED, "sheet has more cells than the limit (10)")


def test_table_blocks_of_limited_rows(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["name", "mobile"])
    for i in range(5):
        ws.append([f"n{i}", 13800138000 + i])
    path = tmp_path / "rows.xlsx"
    wb.save(path)
    _, _, _, blocks = read(path, Limits(table_block_rows=2))
    assert [(b.first_row, len(b.rows)) for b in blocks] == [(2, 2), (4, 2), (6, 1)]
    assert blocks[2].rows == [("n4", "13800138004")]


def test_truncated_xlsx_is_an_error(workbook, tmp_path):
    data = workbook.read_bytes()
    path = tmp_path / "truncated.xlsx"
    path.write_bytes(data[: len(data) // 2])
    _, status, reason, blocks = read(path)
    assert (status, blocks) == (Status.ERROR, [])
    assert reason.endswith("cannot read workbook")


def test_header_detection_needs_labels(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([1, 2, 3])
    ws.append([4, 5, 6])
    path = tmp_path / "numbers.xlsx"
    wb.save(path)
    _, _, _, blocks = read(path)
    assert blocks == [TableBlock(("", "", ""), [("1", "2", "3"), ("4", "5", "6")], "sheet Sheet", 1)]


def test_xlrd_fallback_on_its_own():
    ctx = Context(Limits())
    src = FileSource(EXTERNAL_DOCS / "cjk_order_numbers.xls")
    blocks = list(read_spreadsheet(src, ctx, "application/vnd.ms-excel", engine="xlrd"))
    assert blocks[0].header == ("日期", "序号", "编号", "分公司")
    assert blocks[0].rows[0] == ("2016-04-06", "160112226", "201604182", "test")
    via_calamine = list(read_spreadsheet(src, Context(Limits()), "application/vnd.ms-excel"))
    assert via_calamine[0].rows == blocks[0].rows


def test_used_range_starting_below_row_one(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["B3"], ws["C3"] = "姓名", "手机"
    ws["B4"], ws["C4"] = "张三", "13800138000"
    path = tmp_path / "offset.xlsx"
    wb.save(path)
    calamine = list(read_spreadsheet(FileSource(path), Context(Limits()), XLSX, engine="calamine"))
    assert calamine == [TableBlock(("姓名", "手机"), [("张三", "13800138000")], "sheet Sheet", 4)]
    openpyxl_blocks = list(read_spreadsheet(FileSource(path), Context(Limits()), XLSX, engine="openpyxl"))
    assert openpyxl_blocks == [
        TableBlock(("", "姓名", "手机"), [("", "张三", "13800138000")], "sheet Sheet", 4)
    ]
