"""Seed files for the fuzz targets, generated here (synthetic, clearly fake people).

Every target starts from small, valid files of its format so mutation reaches deep into each
reader quickly. `normal(kind, size)` makes an ordinary file of about `size` bytes: the baseline
that hostile inputs of the same size are measured against.
"""

from __future__ import annotations

import gzip
import io
import random
import re
import struct
import tarfile
import zipfile
from email.message import EmailMessage
from xml.sax.saxutils import escape

from dlpscan.detect.validators import id_check_char, luhn

SURNAMES = "王李张刘陈杨黄赵吴周"
GIVEN = "伟芳娜敏静丽强磊军洋"
HEADER = ("姓名", "身份证号", "手机号码", "银行卡号", "联系地址")


def resident_id(i: int) -> str:
    first17 = f"110101{1960 + i % 40}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
    return first17 + id_check_char(first17)


def bank_card(i: int) -> str:
    body = f"622202{i:012d}"
    return next(body + d for d in "0123456789" if luhn(body + d))


def person(i: int) -> tuple[str, ...]:
    rnd = random.Random(i)
    return (
        rnd.choice(SURNAMES) + rnd.choice(GIVEN) + rnd.choice(GIVEN),
        resident_id(i),
        f"139{rnd.randrange(10**8):08d}",
        bank_card(i),
        f"广东省深圳市南山区科技园路{i % 99 + 1}号{i % 30 + 1}栋{i % 200 + 1}室",
    )


def people(n: int) -> list[tuple[str, ...]]:
    return [person(i) for i in range(n)]


def delimited(n: int, sep: str = ",") -> bytes:
    lines = [sep.join(HEADER)] + [sep.join(p) for p in people(n)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def plain_text(n: int) -> bytes:
    lines = [f"客户{p[0]}，身份证号：{p[1]}，手机：{p[2]}，地址：{p[4]}。" for p in people(n)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def json_doc(n: int) -> bytes:
    import json

    records = [
        dict(zip(("name", "idCardNo", "mobile", "card", "address"), p, strict=True)) for p in people(n)
    ]
    return json.dumps({"customers": records}, ensure_ascii=False).encode("utf-8")


def json_lines(n: int) -> bytes:
    import json

    rows = [
        json.dumps(dict(zip(("name", "mobile"), p[:3:2], strict=True)), ensure_ascii=False) for p in people(n)
    ]
    return ("\n".join(rows) + "\n").encode("utf-8")


def xml_doc(n: int) -> bytes:
    rows = "".join(
        f"<customer id='{i}'><name>{p[0]}</name><idNo>{p[1]}</idNo><mobile>{p[2]}</mobile></customer>"
        for i, p in enumerate(people(n))
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><customers>{rows}</customers>'.encode()


def html_doc(n: int) -> bytes:
    rows = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in p) + "</tr>" for p in people(n))
    head = "".join(f"<th>{h}</th>" for h in HEADER)
    return f"<html><body><p>客户名单</p><table><tr>{head}</tr>{rows}</table></body></html>".encode()


def sql_dump(n: int) -> bytes:
    values = ",".join("(" + ",".join(f"'{c}'" for c in p) + ")" for p in people(n))
    return (
        "CREATE TABLE `customer` (\n  `name` varchar(20),\n  `id_no` char(18),\n  `mobile` char(11),\n"
        "  `card` varchar(19),\n  `address` varchar(80),\n  PRIMARY KEY (`id_no`)\n);\n"
        f"INSERT INTO `customer` VALUES {values};\n"
        "COPY public.customer (name, id_no) FROM stdin;\n"
        + "".join(f"{p[0]}\t{p[1]}\n" for p in people(3))
        + "\\.\n"
    ).encode("utf-8")


def eml(n: int, attachment: bytes | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = "王五 <wang@example.com>"
    msg["To"] = "li@example.com"
    msg["Subject"] = "客户资料"
    msg.set_content(plain_text(n).decode("utf-8"))
    if attachment is not None:
        msg.add_attachment(attachment, maintype="text", subtype="csv", filename="客户.csv")
    return msg.as_bytes()


def rtf(n: int) -> bytes:
    body = "".join(
        "\\par " + "".join(f"\\u{ord(ch)}?" if ord(ch) > 127 else ch for ch in f"{p[0]} {p[1]} {p[2]}")
        for p in people(n)
    )
    return ("{\\rtf1\\ansi\\ansicpg936 " + body + "}").encode("ascii")


def outlook_msg(n: int, attachments: list[bytes] | tuple[bytes, ...] = ()) -> bytes:
    """An Outlook .msg (a compound file of MAPI property streams): subject, sender, one recipient,
    a body of `n` people and the given attachments (客户<i>.csv)."""
    from fuzz.compound import compound_file

    def text(value: str) -> bytes:
        return value.encode("utf-16-le")

    def strings(props: dict[int, str]) -> dict[str, bytes]:
        return {f"__substg1.0_{prop:04X}001F": text(value) for prop, value in props.items()}

    def properties(fixed: list[tuple[int, int]], header: bytes) -> bytes:
        return header + b"".join(struct.pack("<IIQ", tag, 6, value) for tag, value in fixed)

    top = {0x001A: "IPM.Note", 0x0037: "客户资料", 0x1000: plain_text(n).decode("utf-8"), 0x0C1A: "王五"}
    top |= {0x0C1F: "wang@example.com", 0x0E04: "李四"}
    sizes = [(prop << 16 | 0x001F, len(text(value)) + 2) for prop, value in top.items()]
    count = len(attachments)
    tree: dict = {
        **strings(top),
        "__properties_version1.0": properties(sizes, struct.pack("<8xIIII8x", 1, count, 1, count)),
    }
    recipient = strings({0x3001: "李四", 0x3003: "li@example.com", 0x39FE: "li@example.com"})
    tree["__recip_version1.0_#00000000"] = {
        **recipient,
        "__properties_version1.0": properties([(0x0C150003, 1)], bytes(8)),
    }
    for i, data in enumerate(attachments):
        tree[f"__attach_version1.0_#{i:08X}"] = {
            "__substg1.0_37010102": data,
            **strings({0x3707: f"客户{i}.csv", 0x3704: f"客户{i}.csv"}),
            "__properties_version1.0": properties([(0x37050003, 1), (0x37010102, len(data))], bytes(8)),
        }
    tree["__nameid_version1.0"] = {f"__substg1.0_000{k}0102": b"" for k in (2, 3, 4)}
    return compound_file(tree)


def xlsx(n: int) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "客户"
    ws.append(HEADER)
    for p in people(n):
        ws.append(p)
    hidden = wb.create_sheet("隐藏")
    hidden.sheet_state = "hidden"
    hidden.append(("手机", "备注"))
    hidden.append((13912345678.0, "电话"))
    out = io.BytesIO()
    wb.save(out)
    return fixed_times(out.getvalue())


_STAMP = re.compile(rb"(<dcterms:(?:created|modified)\b[^>]*>)[^<]*")


def fixed_times(package: bytes) -> bytes:
    """An Office package with its document and member timestamps fixed. openpyxl stamps the time
    of saving, whose compressed length varies by a byte: normal("xlsx", size) then had one row more
    or less from one second to the next, and counts compared across two calls flickered."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "docProps/core.xml":
                body = _STAMP.sub(rb"\g<1>2024-01-01T00:00:00Z", body)
            fixed = zipfile.ZipInfo(info.filename, date_time=(2024, 1, 1, 0, 0, 0))
            dst.writestr(fixed, body, compress_type=info.compress_type)
    return out.getvalue()


ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_ODS_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?><office:document-content'
    ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
    ' xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"'
    ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
    ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
    '<office:automatic-styles><style:style style:name="ta2" style:family="table">'
    '<style:table-properties table:display="false"/></style:style></office:automatic-styles>'
    "<office:body><office:spreadsheet>"
)
_ODS_TAIL = "</office:spreadsheet></office:body></office:document-content>"
_ODS_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest'
    ' xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
    '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
)
# What LibreOffice writes after a sheet's last row: empty rows and columns to the end of its grid.
ODS_FILLER = (
    '<table:table-row table:number-rows-repeated="1048000">'
    '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>'
)


def ods_cell(value: object) -> str:
    if isinstance(value, float | int):
        return f'<table:table-cell office:value-type="float" office:value="{value}"><text:p>{value}</text:p></table:table-cell>'
    return f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}</text:p></table:table-cell>'


def ods_table(name: str, rows: list[tuple[object, ...]], hidden: bool = False) -> str:
    """A table as LibreOffice writes it: each row filled with empty cells to column 1,024."""
    style = ' table:style-name="ta2"' if hidden else ""
    body = "".join(
        "<table:table-row>"
        + "".join(map(ods_cell, row))
        + f'<table:table-cell table:number-columns-repeated="{1024 - len(row)}"/></table:table-row>'
        for row in rows
    )
    return f'<table:table table:name="{escape(name)}"{style}>{body}{ODS_FILLER}</table:table>'


def ods_package(tables: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mimetype", ODS_MIMETYPE, compress_type=zipfile.ZIP_STORED)
        zf.writestr("META-INF/manifest.xml", _ODS_MANIFEST)
        zf.writestr("content.xml", _ODS_HEAD + tables + _ODS_TAIL)
    return out.getvalue()


def ods(n: int) -> bytes:
    """`n` people on a sheet and a mobile number on a hidden one, as the xlsx seed."""
    hidden = [("手机", "备注"), (13912345678.0, "电话")]
    return ods_package(ods_table("客户", [HEADER, *people(n)]) + ods_table("隐藏", hidden, hidden=True))


def xlsb(n: int, more: bytes = b"") -> bytes:
    """`n` people in an xlsb worksheet, then the cell records `more`."""
    from fuzz import binary12

    values = [HEADER, *people(n)]
    return binary12.workbook(("客户", binary12.rows(values) + more, (0, n, 0, len(HEADER) - 1)))


def xls(n: int) -> bytes:
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("客户")
    for c, h in enumerate(HEADER):
        ws.write(0, c, h)
    for r, p in enumerate(people(n), start=1):
        for c, v in enumerate(p):
            ws.write(r, c, v)
    wb.add_sheet("第二页").write(0, 0, "备注")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def docx_file(n: int) -> bytes:
    """A document with a table of `n` people (rows past the first written as XML: python-docx
    rebuilds the whole table grid for each row it adds) and a contact in the page header."""
    import docx

    d = docx.Document()
    d.add_paragraph("客户名单")
    table = d.add_table(rows=2, cols=len(HEADER))
    first = person(0)
    for c, (h, v) in enumerate(zip(HEADER, first, strict=True)):
        table.cell(0, c).text = h
        table.cell(1, c).text = v
    d.sections[0].header.paragraphs[0].text = f"联系人 {person(0)[2]}"
    out = io.BytesIO()
    d.save(out)
    if n == 1:
        return out.getvalue()
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as src:
        body = src.read("word/document.xml").decode("utf-8")
        start = body.rindex("<w:tr")
        end = body.index("</w:tr>", start) + len("</w:tr>")
        row = body[start:end]
        rows = []
        for p in people(n):
            r = row
            for old, new in zip(first, p, strict=True):
                r = r.replace(f">{old}<", f">{new}<")
            rows.append(r)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                data = src.read(info)
                if info.filename == "word/document.xml":
                    data = (body[:start] + "".join(rows) + body[end:]).encode("utf-8")
                dst.writestr(info.filename, data)
    return out.getvalue()


def pptx_file(n: int) -> bytes:
    """A slide with a table of `n` people, stored uncompressed (mutations reach the XML itself)."""
    import pptx
    from pptx.util import Inches

    prs = pptx.Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[5])
    slide.shapes.title.text = "客户名单"
    rows = people(n)
    shape = slide.shapes.add_table(len(rows) + 1, 3, Inches(0.5), Inches(1.5), Inches(9), Inches(4))
    for c, h in enumerate(HEADER[:3]):
        shape.table.cell(0, c).text = h
    for row, p in zip(list(shape.table.rows)[1:], rows, strict=True):  # table.cell() is O(rows) each
        for c, cell in enumerate(list(row.cells)[:3]):
            cell.text = p[c]
    out = io.BytesIO()
    prs.save(out)
    return stored(out.getvalue())


def stored(package: bytes) -> bytes:
    """The same zip package with every member stored uncompressed."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    return out.getvalue()


def pdf(n: int, ruled: bool = True) -> bytes:
    """ASCII text (CJK would need an embedded font), optionally as a ruled table."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    rows = [["Name", "ID number", "Mobile"]] + [[f"Person {i}", p[1], p[2]] for i, p in enumerate(people(n))]
    out = io.BytesIO()
    story = [Paragraph("Customer list", getSampleStyleSheet()["Title"])]
    if ruled:
        story.append(Table(rows, style=TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black)])))
    else:
        story.extend(Paragraph(" ".join(r)) for r in rows)
    SimpleDocTemplate(out, pagesize=A4).build(story)
    return out.getvalue()


def zip_file(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def tar_gz(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return out.getvalue()


def sevenzip(members: dict[str, bytes]) -> bytes:
    import py7zr

    out = io.BytesIO()
    with py7zr.SevenZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(data, name)
    return out.getvalue()


def hive(n: int, sep: str = "\x01") -> bytes:
    """A Hive/Spark text export: no header, \x01 between fields, \\N for NULL."""
    return "".join(sep.join((str(i), *p[:3], "\\N")) + "\n" for i, p in enumerate(people(n))).encode()


def fixed_width(n: int) -> bytes:
    """A fixed-width batch file in GBK: fields padded to byte widths, numbers glued together."""
    lines = ["H20240101BATCH" + " " * 30]
    for i, p in enumerate(people(n)):
        name = p[0] + " " * (10 - 2 * len(p[0]))
        lines.append(f"D{i:06d}{p[3]:<19}{name}{p[1]}{p[2]}{1000 + i:012d}")
    return "\r\n".join([*lines, f"T{n:06d}"]).encode("gb18030")


def parquet(n: int) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = people(n)
    out = io.BytesIO()
    columns = {h: [r[k] for r in rows] for k, h in enumerate(("xm", "sfzh", "sjhm", "card", "addr"))}
    pq.write_table(pa.table({**columns, "nested": [{"tel": r[2]} for r in rows]}), out)
    return out.getvalue()


def avro(n: int) -> bytes:
    import fastavro

    fields = [{"name": h, "type": "string"} for h in ("xm", "sfzh", "sjhm", "card", "addr")]
    out = io.BytesIO()
    fastavro.writer(
        out,
        {"type": "record", "name": "P", "fields": fields},
        [dict(zip([f["name"] for f in fields], r, strict=True)) for r in people(n)],
    )
    return out.getvalue()


def seeds(kind: str) -> list[bytes]:
    """Small valid files for the fuzz target `kind` (see targets.TARGETS)."""
    small = {"a.csv": delimited(3), "b.txt": plain_text(2)}
    makers = {
        "csv": lambda: [delimited(4), delimited(2, ";"), b'"a","b"\n"1,2","3"\n'],
        "tsv": lambda: [delimited(4, "\t")],
        "text": lambda: [
            plain_text(4),
            plain_text(2).decode("utf-8").encode("gb18030"),
            plain_text(2).decode("utf-8").encode("utf-16-le"),
        ],
        "json": lambda: [json_doc(3), json_lines(3)],
        "xml": lambda: [xml_doc(3)],
        "html": lambda: [html_doc(3)],
        "sql": lambda: [sql_dump(3)],
        "eml": lambda: [eml(2), eml(1, delimited(2))],
        "msg": lambda: [outlook_msg(2), outlook_msg(1, [delimited(2)])],
        "rtf": lambda: [rtf(3)],
        "xlsx": lambda: [xlsx(3)],
        "xlsx_openpyxl": lambda: [xlsx(3)],
        "xlsx_sparse": lambda: [xlsx(3)],
        "ods": lambda: [ods(3)],
        "ods_sparse": lambda: [ods(3)],
        "xlsb": lambda: [xlsb(3)],
        "xlsb_sparse": lambda: [xlsb(3)],
        "xls": lambda: [xls(3)],
        "xls_xlrd": lambda: [xls(3)],
        "docx": lambda: [docx_file(3)],
        "pptx": lambda: [pptx_file(3)],
        "pdf": lambda: [pdf(3), pdf(2, ruled=False)],
        "zip": lambda: [zip_file(small)],
        "tar": lambda: [tar_gz(small)],
        "gz": lambda: [gzip.compress(delimited(3))],
        "7z": lambda: [sevenzip(small)],
        "hive": lambda: [hive(6), hive(6, "\x1f")],
        "fixedwidth": lambda: [fixed_width(6)],
        "parquet": lambda: [parquet(4)],
        "avro": lambda: [avro(4)],
        "octet": lambda: [hive(6), parquet(3), avro(3), fixed_width(6)],
        "detect": lambda: [plain_text(4), delimited(4)],
    }
    return makers[kind]()


def normal(kind: str, size: int) -> bytes:
    """An ordinary file of the reader's format of about `size` bytes (a baseline for ratios)."""
    return seeds_by_rows(kind, normal_rows(kind, size))


def normal_rows(kind: str, size: int) -> int:
    """The rows of normal(kind, size)."""
    ten, twenty = len(seeds_by_rows(kind, 10)), len(seeds_by_rows(kind, 20))
    per_row = max(1.0, (twenty - ten) / 10)  # without the fixed part (headers, containers)
    return max(1, int((size - ten) / per_row) + 10)


def seeds_by_rows(kind: str, n: int) -> bytes:
    return {
        "csv": lambda: delimited(n),
        "tsv": lambda: delimited(n, "\t"),
        "text": lambda: plain_text(n),
        "json": lambda: json_doc(n),
        "xml": lambda: xml_doc(n),
        "html": lambda: html_doc(n),
        "sql": lambda: sql_dump(n),
        "eml": lambda: eml(n),
        "msg": lambda: outlook_msg(n),
        "rtf": lambda: rtf(n),
        "xlsx": lambda: xlsx(n),
        "xls": lambda: xls(n),
        "ods": lambda: ods(n),
        "xlsb": lambda: xlsb(n),
        "docx": lambda: docx_file(n),
        "pptx": lambda: pptx_file(n),
        "pdf": lambda: pdf(n),
        "hive": lambda: hive(n),
        "fixedwidth": lambda: fixed_width(n),
        "parquet": lambda: parquet(n),
        "avro": lambda: avro(n),
        "zip": lambda: zip_file({"a.csv": delimited(n)}),
        "tar": lambda: tar_gz({"a.csv": delimited(n)}),
        "gz": lambda: gzip.compress(delimited(n)),
        "7z": lambda: sevenzip({"a.csv": delimited(n)}),
    }[kind]()
