"""xlsxfast against calamine: the same blocks from every workbook, and the fast reader taken exactly
where its sheets hold only text (inline or shared strings) and plain numbers."""

from __future__ import annotations

import datetime as dt
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


# Numbers as render_row renders them: within 1e15 (format ".15g"), and beyond (a damaged float, noted)
NUMBERS = [13912345678, 0.1, -2.5, 6.2e-7, 42, 45000, -0.0, 1 / 3, 1e15 - 1, 1e15, 1e20, 110101199003077777.0]


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


def read_fast(path: Path, limits: Limits = Limits()) -> bool:  # noqa: B008
    """Does xlsxfast read the workbook (rather than leave it to calamine)?"""
    return xlsxfast.read(FileSource(path), Context(limits)) is not None


def generated_workbook(path: Path, rng: random.Random, plain: bool) -> None:
    """A workbook of inline strings (written a row at a time) or of shared strings; `plain`: no cell
    calamine reads otherwise."""
    book = xlsxwriter.Workbook(str(path), {"constant_memory": rng.random() < 0.5})
    styled = book.add_format({"bold": True})
    dated = book.add_format({"num_format": "yyyy-mm-dd"})
    whole, percent = book.add_format({"num_format": 1}), book.add_format({"num_format": 10})  # built in
    grouped = book.add_format({"num_format": 3, "bold": True})
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
                    number = rng.choice(
                        [*NUMBERS, rng.uniform(-1e6, 1e6), rng.random() * 10 ** rng.randint(-300, 300)]
                    )
                    sheet.write_number(row, col, number, rng.choice([None, None, whole, percent, grouped]))
                elif kind < 0.9:
                    sheet.write_blank(row, col, None, styled)
                elif not plain:
                    sheet.write_datetime(row, col, dt.datetime(2024, 1, 2), dated)
    book.close()


@pytest.mark.parametrize("seed", range(60))
def test_generated_workbooks_read_as_calamine_reads_them(tmp_path, monkeypatch, seed):
    rng = random.Random(seed)
    path = tmp_path / "export.xlsx"
    plain = seed % 4 != 0
    generated_workbook(path, rng, plain)
    assert same_without_fast_reader(path, monkeypatch)
    taken = read_fast(path)
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
    assert not read_fast(path, small)


def package(path: Path, sheet_data: str, strings: str | None = None, styles: str | None = None) -> Path:
    """A minimal xlsx whose one sheet's <sheetData> holds `sheet_data`, with a shared-strings part of
    the <si> elements `strings` and a styles part of `styles`, if given."""
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
        if styles is not None:
            z.writestr("xl/styles.xml", f'<styleSheet xmlns="{main}">{styles}</styleSheet>')
        if strings is not None:
            z.writestr(
                "xl/sharedStrings.xml", f'<sst xmlns="{main}" count="9" uniqueCount="9">{strings}</sst>'
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
    "styled number, no styles part": '<c r="A2" s="1"><v>45000</v></c>',
    "styled blanks": '<c r="A2" s="3"/>' + inline("B2", "王五", ' s="2"') + '<c r="F2" s="1"/>',
    "row attributes": "",
    "white space between": ' <c r="A2" t="inlineStr"> <is> <t>x</t> </is> </c> ',
}
CALAMINES = {
    "shared string without a table": '<c r="A2" t="s"><v>0</v></c>',
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
    assert read_fast(path) == (name in READ_FAST)


def test_rows_out_of_order_are_calamines(tmp_path, monkeypatch):
    path = package(tmp_path / "s.xlsx", '<row r="3">' + inline("A3", "x") + "</row>" + HEADER)
    assert same_without_fast_reader(path, monkeypatch)
    assert not read_fast(path)


SHARED = {  # a shared-strings table of one <si>, and whether xlsxfast reads it
    "plain": ("<si><t>张三</t></si>", True),
    "trimmed": ("<si><t> 张三 </t></si>", True),
    "kept": ('<si><t xml:space="preserve"> 张三 </t></si>', True),
    "empty": ("<si><t/></si>", True),
    "no text": ("<si></si>", True),
    "rich text": (
        '<si><r><rPr><b/><sz val="11"/><rFont val="宋体"/></rPr><t>张</t></r>'
        '<r><t xml:space="preserve"> 三 </t></r></si>',
        True,
    ),
    "phonetic": ('<si><t>張</t><rPh sb="0" eb="1"><t>チョウ</t></rPh><phoneticPr fontId="1"/></si>', True),
    "entity": ("<si><t>a&amp;b</t></si>", True),
    "character reference": ("<si><t>&#x5F20;</t></si>", False),
    "unknown element": ("<si><t>a</t><x/></si>", False),
}


@pytest.mark.parametrize("name", SHARED)
def test_shared_strings(tmp_path, monkeypatch, name):
    si, fast = SHARED[name]
    cells = '<c r="A2" t="s"><v>1</v></c><c r="B2" t="s" s="4"><v>0</v></c><c r="C2"><v>13912345678</v></c>'
    path = package(tmp_path / "s.xlsx", HEADER + f'<row r="2">{cells}</row>', "<si><t>首</t></si>" + si)
    assert same_without_fast_reader(path, monkeypatch)
    assert read_fast(path) == fast


def test_a_string_index_beyond_the_table_is_calamines(tmp_path, monkeypatch):
    path = package(
        tmp_path / "s.xlsx", HEADER + '<row r="2"><c r="A2" t="s"><v>1</v></c></row>', "<si><t>a</t></si>"
    )
    assert same_without_fast_reader(path, monkeypatch)
    assert not read_fast(path)


def test_the_sheets_containers_are_left_to_reference_counting():
    """The shared strings and a sheet's rows hold strings and floats only, in no reference cycle: the
    cyclic collector need not walk them (it did, 800,000 values in every pass, during a workbook's
    read)."""
    import gc

    scan = extensions.load("dlpscan.extract._xlsxscan")
    strings = scan.shared_strings("<sst><si><t>张三</t></si><si><t>b</t></si></sst>".encode())
    assert strings == ["张三", "b"] and not gc.is_tracked(strings)
    xml = b'<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1"><v>1.5</v></c></row>'
    xml += b'<row r="2"><c r="A2" t="s"><v>1</v></c></row></sheetData>'
    first_row, height, width, rows = scan.read_sheet(xml, strings, None, 100, 1e15)
    assert (first_row, height, width) == (0, 2, 2) and rows == [("张三", "1.5"), ("b", "")]
    assert not gc.is_tracked(rows) and not any(gc.is_tracked(row) for row in rows)


EXTERNAL = sorted((Path(__file__).parent / "data" / "external" / "docs").glob("*.xls[xm]"))


@pytest.mark.parametrize("path", EXTERNAL, ids=[p.name for p in EXTERNAL])
def test_real_workbooks(path, monkeypatch):
    """Workbooks from the wild (tests/data/external, with their provenance): the same blocks."""
    assert same_without_fast_reader(path, monkeypatch)


CELL_STYLES = '<cellStyleXfs count="1"><xf numFmtId="14"/></cellStyleXfs><cellXfs count="3">{}</cellXfs>'
STYLES = {  # the cellXfs of a styles part, and whether xlsxfast reads numbers in style 1
    "general": ('<xf numFmtId="0"/><xf numFmtId="0" applyNumberFormat="1"/>', True),
    "number formats": ('<xf numFmtId="0"/><xf numFmtId="3"/>', True),
    "text format": ('<xf numFmtId="0"/><xf numFmtId="49"/>', True),
    "date": ('<xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/>', False),
    "time": ('<xf numFmtId="0"/><xf numFmtId="46"/>', False),
    "chinese date": ('<xf numFmtId="0"/><xf numFmtId="31"/>', False),
    "custom": ('<xf numFmtId="0"/><xf numFmtId="164"/>', False),
    "no format": ('<xf numFmtId="0"/><xf/>', False),
    "no such style": ('<xf numFmtId="0"/>', False),
}


@pytest.mark.parametrize("name", STYLES)
def test_styled_numbers(tmp_path, monkeypatch, name):
    xfs, fast = STYLES[name]
    styles = (
        '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy/m/d"/></numFmts>'
        + CELL_STYLES.format(xfs)
    )
    cells = '<c r="A2" s="1"><v>45000</v></c><c r="B2"><v>13912345678</v></c>'
    path = package(tmp_path / "s.xlsx", HEADER + f'<row r="2">{cells}</row>', styles=styles)
    assert same_without_fast_reader(path, monkeypatch)
    assert read_fast(path) == fast


def test_a_built_in_format_made_over_is_calamines(tmp_path, monkeypatch):
    styles = '<numFmts count="1"><numFmt numFmtId="3" formatCode="yyyy-mm-dd"/></numFmts>'
    styles += CELL_STYLES.format('<xf numFmtId="0"/><xf numFmtId="3"/>')
    path = package(
        tmp_path / "s.xlsx", HEADER + '<row r="2"><c r="A2" s="1"><v>45000</v></c></row>', styles=styles
    )
    assert same_without_fast_reader(path, monkeypatch)
    assert not read_fast(path)
