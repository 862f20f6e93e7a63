"""Minimal xlsb workbooks (BIFF12 records in an OPC zip, MS-XLSB), written here for seeds and
hostile inputs: strings inline (BrtCellSt), numbers as BrtCellReal."""

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
    "{}</Relationships>"
)
Sheet = tuple[str, bytes, tuple[int, int, int, int] | None]  # name, cell records, BrtWsDim


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


def sheet(cells: bytes, dimension: tuple[int, int, int, int]) -> bytes:
    """A worksheet part holding the cell records `cells` (BrtWsDim: first row, last row, first
    column, last column)."""
    return (
        record(BEGIN_SHEET)
        + record(DIMENSION, struct.pack("<IIII", *dimension))
        + record(BEGIN_DATA)
        + cells
        + record(END_DATA)
        + record(END_SHEET)
    )


def workbook(*sheets: Sheet) -> bytes:
    """An xlsb of the worksheets `sheets`, or of raw parts where a sheet's records are given
    without a dimension (None)."""
    book = record(0x83) + record(0x8F)
    rels = ""
    for i, (name, _, _) in enumerate(sheets, start=1):
        book += record(0x9C, struct.pack("<II", 0, i) + wide(f"rId{i}") + wide(name))
        rels += f'<Relationship Id="rId{i}" Type="{_RELS}worksheet" Target="worksheets/sheet{i}.bin"/>'
    book += record(0x90) + record(0x84)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES)
        zf.writestr("_rels/.rels", _ROOT_RELS)
        zf.writestr("xl/workbook.bin", book)
        zf.writestr("xl/_rels/workbook.bin.rels", _BOOK_RELS.format(rels))
        for i, (_, cells, dimension) in enumerate(sheets, start=1):
            part = sheet(cells, dimension) if dimension is not None else cells
            zf.writestr(f"xl/worksheets/sheet{i}.bin", part)
    return out.getvalue()
