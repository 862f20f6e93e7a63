"""Minimal xlsb workbooks (BIFF12 records in an OPC zip, MS-XLSB), written here for seeds and
hostile inputs: one worksheet, strings inline (BrtCellSt), numbers as BrtCellReal."""

from __future__ import annotations

import io
import struct
import zipfile

BEGIN_SHEET, END_SHEET, DIMENSION, BEGIN_DATA, END_DATA = 0x81, 0x82, 0x94, 0x91, 0x92
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Override PartName="/xl/workbook.bin" ContentType="application/vnd.ms-excel.sheet.binary.macroEnabled.main"/>'
    '<Override PartName="/xl/worksheets/sheet1.bin" ContentType="application/vnd.ms-excel.worksheet"/></Types>'
)
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{_RELS}officeDocument" Target="xl/workbook.bin"/></Relationships>'
)
_BOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{_RELS}worksheet" Target="worksheets/sheet1.bin"/></Relationships>'
)


def record(typ: int, data: bytes = b"") -> bytes:
    """One record: its type and length as 7-bit groups, then the data."""
    out = bytearray([typ] if typ < 0x80 else [(typ & 0x7F) | 0x80, typ >> 7])
    n = len(data)
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out) + data


def wide(text: str) -> bytes:
    raw = text.encode("utf-16-le")
    return struct.pack("<I", len(raw) // 2) + raw


def row_header(row: int) -> bytes:
    return record(0x00, struct.pack("<IIHHBBI", row, 0, 0, 0, 0, 0, 0))


def cell(col: int, value: object) -> bytes:
    if isinstance(value, float | int):
        return record(0x05, struct.pack("<IId", col, 0, float(value)))
    return record(0x06, struct.pack("<II", col, 0) + wide(str(value)))


def rows(values: list[tuple[object, ...]], first: int = 0) -> bytes:
    return b"".join(
        row_header(first + r) + b"".join(cell(c, v) for c, v in enumerate(row))
        for r, row in enumerate(values)
    )


def workbook(cells: bytes, dimension: tuple[int, int, int, int], name: str = "客户") -> bytes:
    """An xlsb of one worksheet `name` holding the cell records `cells` (BrtWsDim: first row,
    last row, first column, last column)."""
    sheet = (
        record(BEGIN_SHEET)
        + record(DIMENSION, struct.pack("<IIII", *dimension))
        + record(BEGIN_DATA)
        + cells
        + record(END_DATA)
        + record(END_SHEET)
    )
    book = record(0x83) + record(0x8F) + record(0x9C, struct.pack("<II", 0, 1) + wide("rId1") + wide(name))
    book += record(0x90) + record(0x84)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES)
        zf.writestr("_rels/.rels", _ROOT_RELS)
        zf.writestr("xl/workbook.bin", book)
        zf.writestr("xl/_rels/workbook.bin.rels", _BOOK_RELS)
        zf.writestr("xl/worksheets/sheet1.bin", sheet)
    return out.getvalue()
