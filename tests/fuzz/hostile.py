"""Hostile inputs of a given size, one generator per failure class the fuzzing found.

Used by bench/bench_extract.py --adversarial to measure each reader's worst-case throughput
against an ordinary file of the same size (fuzz/seeds.normal).
"""

from __future__ import annotations

import datetime
import gzip
import io
import re
import struct
import zipfile
from collections.abc import Callable

from dlpscan.extract import biff, cfb
from dlpscan.extract.source import BytesSource
from fuzz import seeds


def _fill(unit: bytes, size: int, head: bytes = b"", tail: bytes = b"") -> bytes:
    return head + unit * max(1, (size - len(head) - len(tail)) // len(unit)) + tail


def address_digits(size: int) -> bytes:
    return _fill(("张三,北京市" + "7" * 20_000 + "\n").encode(), size, "姓名,地址\n".encode())


def wide_rows(size: int) -> bytes:
    return _fill(b"," * 2_000 + b"\n", size, b"a,b\n")


def sql_open_quote(size: int) -> bytes:
    return _fill(b"ab''c\n", size, b"INSERT INTO t VALUES ('")


def sql_open_create(size: int) -> bytes:
    return _fill(b"name varchar(20),\n", size, b"CREATE TABLE t (\n")


def _eml(header_unit: bytes, name: bytes, size: int) -> bytes:
    return _fill(header_unit, size, name, b"\n\nbody\n")


def eml_quotes(size: int) -> bytes:
    return _eml(b'"a",', b"To: ", size)


def eml_params(size: int) -> bytes:
    return _eml(b';a="b', b"Content-Type: text/plain", size)


def eml_encoded_words(size: int) -> bytes:
    return _eml(b"=?utf-8?q?a?= ", b"Subject: ", size)


def one_line_of_mobiles(size: int) -> bytes:
    return _fill(b"13912345678 ", size, b"\n")


def one_line_of_records(size: int) -> bytes:
    return _fill("王伟 北京市朝阳区1号 13912345678 ".encode(), size, b"\n")


def html_open_cells(size: int) -> bytes:
    return _fill(b"<td>x", size, b"<table><tr>")


def json_records_of_distinct_keys(size: int) -> bytes:
    n = size // 12
    return b"[" + b",".join(b'{"k%d":1}' % i for i in range(n)) + b"]"


def xml_records_of_distinct_tags(size: int) -> bytes:
    n = size // 40
    return b"<r>" + b"".join(b"<p><a%d>1</a%d><b%d>2</b%d></p>" % (i, i, i, i) for i in range(n)) + b"</r>"


def json_too_deep(size: int) -> bytes:
    half = size // 2
    return b"[" * half + b"]" * half


def docx_broken_part(size: int) -> bytes:
    """A docx of about `size` bytes whose header part is malformed (read part by part)."""
    data = seeds.normal("docx", size)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = b"<w:hdr><w:p>" if info.filename == "word/header1.xml" else src.read(info)
            dst.writestr(info.filename, body)
    return out.getvalue()


def edit_workbook(xls: bytes, edit: Callable[[bytearray, int], None]) -> bytes:
    """`xls` with its Workbook stream changed in place by `edit(stream, first sheet offset)`."""
    stream = cfb.stream(BytesSource(xls, "a.xls"), biff.WORKBOOK_STREAMS)
    assert stream is not None
    changed = bytearray(stream.data)
    edit(changed, next(biff._sheets(stream.data))[1])
    out = bytearray(xls)
    for i, (old, new) in enumerate(zip(stream.data, changed, strict=True)):
        if old != new:
            out[stream.file_offset(i)] = new
    return bytes(out)


def first_sheet_records(stream: bytes, sheet: int, types: set[int]) -> list[int]:
    """Offsets of the records of `types` in the sheet at `sheet`, up to its EOF."""
    found = []
    for at, typ, _, _ in biff._records(stream, sheet):
        if typ == 0x000A:
            break
        if typ in types:
            found.append(at)
    return found


def _wrap_dimensions(stream: bytearray, sheet: int) -> None:
    for at in first_sheet_records(stream, sheet, {0x0200}):
        struct.pack_into("<II", stream, at + 4, 141, 1)  # last row before the first: 2**32 - 141 rows


def _far_column(stream: bytearray, sheet: int) -> None:
    last = first_sheet_records(stream, sheet, {0x00FD, 0x0203, 0x027E})[-1]
    struct.pack_into("<HH", stream, last + 4, 65_535, 65_535)  # 65,536 x 65,536 cells from A1


def _overlapping_sheets(stream: bytearray, sheet: int) -> None:
    """Every XF record of the globals becomes a BoundSheet record naming the first sheet again."""
    for at, typ, _, length in biff._records(bytes(stream), 0):
        if typ == 0x000A:
            break
        if typ == 0x00E0 and length >= 9:
            struct.pack_into("<HHIBBBBB", stream, at, 0x0085, length, sheet, 0, 0, 1, 0, ord("x"))


def xls_dimensions_wrapping(size: int) -> bytes:
    return edit_workbook(seeds.normal("xls", size), _wrap_dimensions)


def xls_far_column(size: int) -> bytes:
    return edit_workbook(seeds.normal("xls", size), _far_column)


def xls_overlapping_sheets(size: int) -> bytes:
    return edit_workbook(seeds.normal("xls", size), _overlapping_sheets)


def edit_sheet(xlsx: bytes, edit: Callable[[bytes], bytes], part: str = "xl/worksheets/sheet1.xml") -> bytes:
    """`xlsx` with the XML of one of its parts changed by `edit`."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            dst.writestr(info.filename, edit(body) if info.filename == part else body)
    return out.getvalue()


FAR_VALUE = seeds.resident_id(10_000)  # a valid ID no ordinary seed file holds


def far_cell(ref: str, cells: str = "") -> Callable[[bytes], bytes]:
    """Appends a row holding FAR_VALUE at `ref` (after `cells`, raw cell XML) to a sheet."""
    row = ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    cell = f'<c r="{ref}" t="inlineStr"><is><t>{FAR_VALUE}</t></is></c>' if ref[0].isalpha() else ""
    if not cell:  # no letters: the cell has no reference, calamine's counters place it
        cell = f'<c t="inlineStr"><is><t>{FAR_VALUE}</t></is></c>'
    xml = f'<row r="{row}">{cells}{cell}</row></sheetData>'.encode()
    return lambda sheet: sheet.replace(b"</sheetData>", xml, 1)


def xlsx_far_cell(size: int) -> bytes:
    """A1 and XFD1048576: calamine lays out 17 billion cells (549 GB)."""
    return edit_sheet(seeds.normal("xlsx", size), far_cell("XFD1048576"))


def xlsx_far_row(size: int) -> bytes:
    """Row 100,000,000 (beyond Excel's rows; calamine takes it): 500 million cells."""
    return edit_sheet(seeds.normal("xlsx", size), far_cell("E100000000"))


def xlsx_far_column(size: int) -> bytes:
    """Column AAAAAA (12,356,631; beyond Excel's columns): a billion cells over the sheet's rows."""
    return edit_sheet(seeds.normal("xlsx", size), far_cell("AAAAAA2"))


def xlsx_far_cell_by_position(size: int) -> bytes:
    """XFD1048576 reached without a reference: 16,383 empty cells before it in row 1,048,576."""
    return edit_sheet(seeds.normal("xlsx", size), far_cell("1048576", "<c/>" * 16_383))


def xlsx_shared_strings(n: int) -> bytes:
    """A workbook of `n` people whose strings are in a shared-string table (as Excel writes)."""
    import xlsxwriter

    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"in_memory": True})
    wb.set_properties({"created": datetime.datetime(2024, 1, 1)})  # the same bytes on every run
    ws = wb.add_worksheet("客户")
    ws.write_row(0, 0, seeds.HEADER)
    for r, person in enumerate(seeds.people(n), start=1):
        ws.write_row(r, 0, person)
    wb.close()
    return out.getvalue()


def xlsx_declared_strings(size: int) -> bytes:
    """A shared-string table declaring 10 billion strings: calamine reserves 240 GB before reading one."""
    data = xlsx_shared_strings(max(1, size // 110))
    return edit_sheet(
        data,
        lambda sst: re.sub(rb'uniqueCount="[0-9]+"', b'uniqueCount="10000000000"', sst),
        "xl/sharedStrings.xml",
    )


def edit_content(ods: bytes, edit: Callable[[bytes], bytes]) -> bytes:
    """`ods` with its content.xml changed by `edit`."""
    return edit_sheet(ods, edit, "content.xml")


def ods_rows(rows: str) -> Callable[[bytes], bytes]:
    """Inserts `rows` (raw row XML) after the first table's last row, before LibreOffice's filler."""
    return lambda xml: xml.replace(seeds.ODS_FILLER.encode(), rows.encode() + seeds.ODS_FILLER.encode(), 1)


def _far(cells: str) -> str:
    return f"<table:table-row>{cells}{seeds.ods_cell(FAR_VALUE)}</table:table-row>"


def ods_far_cell(size: int) -> bytes:
    """5,000 empty rows, then FAR_VALUE at column 16,001: calamine lays out 80 million cells (2.5 GB)."""
    empty = '<table:table-row table:number-rows-repeated="5000"><table:table-cell/></table:table-row>'
    far = _far('<table:table-cell table:number-columns-repeated="16000"/>')
    return edit_content(seeds.normal("ods", size), ods_rows(empty + far))


def ods_far_row(size: int) -> bytes:
    """FAR_VALUE after 100 million empty rows: 500 million cells over the sheet's columns."""
    empty = '<table:table-row table:number-rows-repeated="100000000"><table:table-cell/></table:table-row>'
    return edit_content(seeds.normal("ods", size), ods_rows(empty + _far("")))


def ods_repeated_value(size: int) -> bytes:
    """FAR_VALUE in a cell repeated over 16,384 columns of a row repeated a million times."""
    cell = seeds.ods_cell(FAR_VALUE).replace(">", ' table:number-columns-repeated="16384">', 1)
    row = f'<table:table-row table:number-rows-repeated="1000000">{cell}</table:table-row>'
    return edit_content(seeds.normal("ods", size), ods_rows(row))


def ods_repeated_string(size: int) -> bytes:
    """A 100 KB string (FAR_VALUE and padding) repeated over 5,000 columns of 10 rows: 5 GB of copies."""
    text = FAR_VALUE + " " + "x" * 100_000
    cell = f'<table:table-cell table:number-columns-repeated="5000" office:value-type="string" office:string-value="{text}"/>'
    row = f'<table:table-row table:number-rows-repeated="10">{cell}</table:table-row>'
    return edit_content(seeds.normal("ods", size), ods_rows(row))


def ods_prefixes(renames: dict[str, str]) -> Callable[[bytes], bytes]:
    """Binds the namespace of each standard prefix (office, table, text) to another one and writes
    the names with it: valid ODF, but calamine matches the standard prefixes as written."""

    def edit(xml: bytes) -> bytes:
        for old, new in renames.items():
            xml = xml.replace(f"xmlns:{old}=".encode(), f"xmlns:{new}=".encode(), 1)
            xml = re.sub(rb"(?<=[<\s/])" + old.encode() + rb":(?=[a-z])", new.encode() + b":", xml)
        return xml

    return edit


def _table_default(xml: bytes) -> bytes:
    """The table namespace as the default one too: its elements unprefixed, attributes (which a
    default namespace does not cover) still under `table:`."""
    uri = b"urn:oasis:names:tc:opendocument:xmlns:table:1.0"
    xml = xml.replace(b"xmlns:table=", b'xmlns="' + uri + b'" xmlns:table=', 1)
    return re.sub(rb"(?<=<)table:|(?<=</)table:", b"", xml)


def _table_prefix_below_root(xml: bytes) -> bytes:
    """The table namespace under `t`, declared on office:body rather than on the root."""
    xml = ods_prefixes({"table": "t"})(xml)
    declaration = re.search(rb' xmlns:t="[^"]*"', xml)[0]
    return xml.replace(declaration, b"", 1).replace(b"<office:body>", b"<office:body" + declaration + b">", 1)


def _table_uri_escaped(xml: bytes) -> bytes:
    """The table namespace under `t`, its URI written with a character reference."""
    return ods_prefixes({"table": "t"})(xml).replace(b"xmlns:table:1.0", b"xmlns:table:1&#46;0", 1)


ODS_NAMESPACES = {  # how content.xml is written -> its edit
    "table namespace under t": ods_prefixes({"table": "t"}),
    "table namespace as the default": _table_default,
    "office, table and text under o, t and x": ods_prefixes({"office": "o", "table": "t", "text": "x"}),
    "table namespace under t, declared below the root": _table_prefix_below_root,
    "table namespace under t, its URI escaped": _table_uri_escaped,
}


def _xlsb_far(row: int, col: int) -> Callable[[int], bytes]:
    def make(size: int) -> bytes:
        from fuzz import binary12

        far = binary12.row_header(row) + binary12.cell(col, FAR_VALUE)
        return seeds.xlsb(seeds.normal_rows("xlsb", size), far)

    return make


# A1 and XFD1048576: calamine lays out 17 billion cells (549 GB)
xlsb_far_cell = _xlsb_far(1_048_575, 16_383)
# a column calamine takes as any u32 (100,000,000): 500 million cells over five columns' rows
xlsb_far_column = _xlsb_far(3, 100_000_000)


def _small_records(count: int) -> list[bytes]:
    rows = seeds.delimited(max(1, count)).split(b"\n")[1:]
    return [rows[i % max(1, len(rows) - 1)] + b"\n" for i in range(count)]


def archive_members(make: Callable[[dict[str, bytes]], bytes], unit: int) -> Callable[[int], bytes]:
    """An archive of one-record members, about `unit` archive bytes per member."""
    return lambda size: make({f"m{i}.csv": r for i, r in enumerate(_small_records(max(1, size // unit)))})


def gz_repeating(size: int) -> bytes:
    """A gzip member of one 8 KB block of records repeated: it inflates about 150x, so the input is
    capped at what inflates to 30 MB (below the fuzz limits' 32 MB per member)."""
    unit = seeds.delimited(200)[:8192]
    return gzip.compress(unit * max(1, min(size * 150, 30 * 1024**2) // len(unit)))


def pdf_ruled_paths(size: int, paths: int = 4_900) -> bytes:
    """Pages of just under MAX_PLUMBER_PATHS ruling lines each: pdfplumber reads every page."""
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out)
    for _ in range(max(1, size // 27_000)):
        for i in range(paths):
            x, y = 10 + (i % 70) * 8, 10 + (i // 70) * 10
            c.line(x, y, x + 4, y)
        c.drawString(20, 800, "Person 1 110101199003074578 13912345678")
        c.showPage()
    c.save()
    return out.getvalue()


def xlsx_wide_rows(size: int) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for _ in range(max(1, size // 9_000)):
        ws.append([f"x{c}" if c % 2 else None for c in range(2_000)])
    out = io.BytesIO()
    wb.save(out)
    return seeds.fixed_times(out.getvalue())


def pptx_text_boxes(size: int) -> bytes:
    """A slide of one text box per ~230 bytes, stored uncompressed (so the size is the XML's)."""
    box = (
        '<p:sp><p:nvSpPr><p:cNvPr id="{}" name="t"/><p:cNvSpPr txBox="1"/><p:nvPr/></p:nvSpPr>'
        "<p:spPr/><p:txBody><a:bodyPr/><a:p><a:r><a:t>张三 13912345678</a:t></a:r></a:p></p:txBody></p:sp>"
    )
    boxes = "".join(box.format(i + 100) for i in range(max(1, size // len(box.encode()))))
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(seeds.pptx_file(1))) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "ppt/slides/slide1.xml":
                body = body.replace(b"</p:spTree>", boxes.encode() + b"</p:spTree>")
            dst.writestr(info.filename, body)
    return out.getvalue()


def rtf_nested_groups(size: int) -> bytes:
    half = max(1, size // 2 - 16)
    return b"{\\rtf1\\ansi " + b"{" * half + b"}" * half + b"}"


def msg_attachments(size: int) -> bytes:
    return seeds.outlook_msg(1, _small_records(max(1, size // 1_000)))


def parquet_row_groups(size: int) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = seeds.people(max(1, size // 400))
    table = pa.table({h: [r[k] for r in rows] for k, h in enumerate(("xm", "sfzh", "sjhm", "card", "addr"))})
    out = io.BytesIO()
    pq.write_table(table, out, row_group_size=1)
    return out.getvalue()


def avro_blocks(size: int) -> bytes:
    import fastavro

    names = ("xm", "sfzh", "sjhm", "card", "addr")
    schema = {"type": "record", "name": "P", "fields": [{"name": h, "type": "string"} for h in names]}
    records = [dict(zip(names, r, strict=True)) for r in seeds.people(max(1, size // 200))]
    out = io.BytesIO()
    fastavro.writer(out, schema, records, sync_interval=1)
    return out.getvalue()


# name -> (fuzz target kind, generator)
HOSTILE = {
    "address cell of digits": ("csv", address_digits),
    "2,000-column rows": ("csv", wide_rows),
    "unterminated quote": ("sql", sql_open_quote),
    "unclosed CREATE TABLE": ("sql", sql_open_create),
    "header of quoted strings": ("eml", eml_quotes),
    "header of parameters": ("eml", eml_params),
    "header of encoded words": ("eml", eml_encoded_words),
    "one line of mobiles": ("text", one_line_of_mobiles),
    "one line of names, addresses, mobiles": ("text", one_line_of_records),
    "unclosed table cells": ("html", html_open_cells),
    "JSON nested too deep": ("json", json_too_deep),
    "records with keys of their own": ("json", json_records_of_distinct_keys),
    "records with tags of their own": ("xml", xml_records_of_distinct_tags),
    "docx with a malformed part": ("docx", docx_broken_part),
    "Dimensions with the last row before the first": ("xls", xls_dimensions_wrapping),
    "a cell at column 65,536": ("xls", xls_far_column),
    "sheets pointing at one sheet": ("xls", xls_overlapping_sheets),
    "2,000-column rows (every other cell empty)": ("xlsx", xlsx_wide_rows),
    "a cell at XFD1048576": ("xlsx", xlsx_far_cell),
    "a cell at row 100,000,000": ("xlsx", xlsx_far_row),
    "a cell at column 12,356,631": ("xlsx", xlsx_far_column),
    "a cell at XFD1048576 placed without a reference": ("xlsx", xlsx_far_cell_by_position),
    "a shared-string table declaring 10 billion strings": ("xlsx", xlsx_declared_strings),
    "5,000 empty rows, then a cell at column 16,001": ("ods", ods_far_cell),
    "a cell after 100,000,000 empty rows": ("ods", ods_far_row),
    "a cell repeated over 16,384 columns of 1,000,000 rows": ("ods", ods_repeated_value),
    "a 100 KB string repeated 50,000 times": ("ods", ods_repeated_string),
    "a cell at XFD1048576 (xlsb)": ("xlsb", xlsb_far_cell),
    "a cell at column 100,000,000 (xlsb)": ("xlsb", xlsb_far_column),
    "pages of 4,900 ruling lines (pdfplumber on every page)": ("pdf", pdf_ruled_paths),
    "a slide of 4,000 text boxes per MB": ("pptx", pptx_text_boxes),
    "groups nested 500,000 deep": ("rtf", rtf_nested_groups),
    "one one-record attachment per KB": ("msg", msg_attachments),
    "one-record members (zip)": ("zip", archive_members(seeds.zip_file, 200)),
    "one-record members (tar.gz)": ("tar", archive_members(seeds.tar_gz, 40)),
    "one-record members (7z)": ("7z", archive_members(seeds.sevenzip, 20)),
    "a member inflating 150x (to 30 MB)": ("gz", gz_repeating),
    "row groups of one row": ("parquet", parquet_row_groups),
    "blocks of one record": ("avro", avro_blocks),
}
