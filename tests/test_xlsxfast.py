"""xlsxfast against calamine: the same blocks from every workbook, and the fast reader taken exactly
where its sheets hold only inline strings and plain numbers."""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

import pytest
import xlsxwriter

from dlpscan import extensions
from dlpscan.extract import Limits, xlsxfast
from dlpscan.extract.context import Context
from dlpscan.extract.errors import ExtractError
from dlpscan.extract.excel import read_spreadsheet
from dlpscan.extract.sniff import XLSX
from dlpscan.extract.source import FileSource

pytestmark = pytest.mark.skipif(
    extensions.load("dlpscan.extract._xlsxscan") is None, reason="the compiled _xlsxscan is not built"
)

TEXTS = [
    "张三",
    "110101199003077777",
    "浙江省杭州市西湖区文三路7号",
    " 两边有空格 ",
    "a&b<c>\"d'",
    "多\n行",
    "x" * 40,
]


def blocks(path: Path, limits: Limits = Limits()) -> list:  # noqa: B008
    """What the spreadsheet reader gives: its blocks and notes, or the error that stopped it."""
    ctx = Context(limits)
    try:
        return [*read_spreadsheet(FileSource(path), ctx, XLSX), ctx.notes]
    except ExtractError as e:
        return [type(e).__name__, str(e)]


def same_without_fast_reader(path: Path, monkeypatch: pytest.MonkeyPatch, limits: Limits = Limits()) -> bool:  # noqa: B008
    """The reader's answer with xlsxfast equals its answer with xlsxfast switched off (calamine's)."""
    fast = blocks(path, limits)
    with monkeypatch.context() as m:
        m.setattr(xlsxfast, "read", lambda src, ctx: None)
        return fast == blocks(path, limits)


def streamed_workbook(path: Path, rng: random.Random, plain: bool) -> None:
    """A workbook written a row at a time (inline strings); `plain`: no cell calamine reads otherwise."""
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    styled = book.add_format({"bold": True})
    dated = book.add_format({"num_format": "yyyy-mm-dd"})
    for s in range(rng.randint(1, 3)):
        sheet = book.add_worksheet(f"表{s}")
        top, left = rng.choice([0, 0, 2, 5]), rng.choice([0, 0, 1, 3])
        for r in range(rng.randint(0, 30)):
            for c in range(rng.randint(1, 6)):
                kind = rng.random()
                row, col = top + r, left + c
                if kind < 0.45:
                    sheet.write_string(row, col, rng.choice(TEXTS), styled if rng.random() < 0.2 else None)
                elif kind < 0.75:
                    sheet.write_number(row, col, rng.choice([13912345678, 0.1, -2.5, 1e20, 6.2e-7, 42]))
                elif kind < 0.9:
                    sheet.write_blank(row, col, None, styled)
                elif not plain:
                    sheet.write_datetime(row, col, __import__("datetime").datetime(2024, 1, 2), dated)
    book.close()


@pytest.mark.parametrize("seed", range(40))
def test_streamed_workbooks_read_as_calamine_reads_them(tmp_path, monkeypatch, seed):
    rng = random.Random(seed)
    path = tmp_path / "export.xlsx"
    plain = seed % 4 != 0
    streamed_workbook(path, rng, plain)
    assert same_without_fast_reader(path, monkeypatch)
    taken = xlsxfast.read(FileSource(path), Context(Limits())) is not None
    assert taken or not plain


def test_the_cell_limit_is_calamines(tmp_path, monkeypatch):
    path = tmp_path / "wide.xlsx"
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet()
    for r in range(20):
        sheet.write_row(r, 0, ["张三", "13912345678", 1.5])
    book.close()
    small = Limits(max_cells_per_sheet=40)
    assert same_without_fast_reader(path, monkeypatch, small)
    assert xlsxfast.read(FileSource(path), Context(small)) is None


def package(path: Path, sheet_data: str) -> Path:
    """A minimal xlsx whose one sheet's <sheetData> holds `sheet_data`."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            "</Types>",
        )
        z.writestr(
            "_rels/.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        z.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets><sheet name="S" sheetId="1" r:id="rId1"/>'
            "</sheets></workbook>",
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        )
        z.writestr(
            "xl/worksheets/sheet1.xml",
            f'<worksheet xmlns="{main}"><sheetData>{sheet_data}</sheetData></worksheet>',
        )
    return path


def inline(ref: str, text: str, attrs: str = "") -> str:
    return f'<c r="{ref}" t="inlineStr"{attrs}><is><t>{text}</t></is></c>'


HEADER = '<row r="1">' + inline("A1", "姓名") + inline("B1", "手机") + "</row>"
READ_FAST = {
    "entities": inline("A2", "a&amp;b&lt;c&gt;&quot;&apos;"),
    "spaces trimmed": inline("A2", "  张三 \n") + '<c r="B2"><v>13912345678</v></c>',
    "spaces only, kept": '<c r="A2" t="inlineStr"><is><t xml:space="preserve">  </t></is></c>',
    "xml:space": '<c r="A2" t="inlineStr"><is><t xml:space="preserve"> 李四 </t></is></c>',
    "empty text": inline("A2", "") + inline("C2", "x"),
    "self-closing text": '<c r="B2" t="inlineStr"><is><t/></is></c>',
    "numbers": '<c r="A2" t="n"><v>1.0E+2</v></c><c r="B2"><v>007</v></c><c r="C2"><v>-0</v></c>',
    "styled blanks": '<c r="A2" s="3"/>' + inline("B2", "王五", ' s="2"') + '<c r="F2" s="1"/>',
    "row attributes": "",
    "white space between": ' <c r="A2" t="inlineStr"> <is> <t>x</t> </is> </c> ',
}
CALAMINES = {
    "shared string": '<c r="A2" t="s"><v>0</v></c>',
    "styled number": '<c r="A2" s="1"><v>45000</v></c>',
    "formula": '<c r="A2" t="str"><f>B2</f><v>x</v></c>',
    "boolean": '<c r="A2" t="b"><v>1</v></c>',
    "rich text": '<c r="A2" t="inlineStr"><is><r><t>a</t></r><r><t>b</t></r></is></c>',
    "character reference": inline("A2", "&#x41;"),
    "escape": inline("A2", "a_x000D_b"),
    "carriage return": inline("A2", "a\r\nb"),
    "number with spaces": '<c r="A2"><v> 12 </v></c>',
    "spaces only": inline("A2", "   "),
    "xml:space default": '<c r="A2" t="inlineStr"><is><t xml:space="default"> x </t></is></c>',
    "no reference": '<c t="inlineStr"><is><t>x</t></is></c>',
    "columns out of order": inline("B2", "x") + inline("A2", "y"),
    "reference on another row": inline("A3", "x"),
}


@pytest.mark.parametrize("name", [*READ_FAST, *CALAMINES])
def test_hand_written_sheets(tmp_path, monkeypatch, name):
    cells = READ_FAST.get(name, CALAMINES.get(name))
    row = (
        '<row r="2" spans="1:6" ht="20" x14ac:dyDescent="0.25">'
        if name == "row attributes"
        else '<row r="2">'
    )
    path = package(tmp_path / "s.xlsx", HEADER + row + (cells or inline("A2", "x")) + "</row>")
    assert same_without_fast_reader(path, monkeypatch)
    assert (xlsxfast.read(FileSource(path), Context(Limits())) is not None) == (name in READ_FAST)


def test_rows_out_of_order_are_calamines(tmp_path, monkeypatch):
    path = package(tmp_path / "s.xlsx", '<row r="3">' + inline("A3", "x") + "</row>" + HEADER)
    assert same_without_fast_reader(path, monkeypatch)
    assert xlsxfast.read(FileSource(path), Context(Limits())) is None
