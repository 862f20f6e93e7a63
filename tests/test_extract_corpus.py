"""A folder of mixed office files is read end to end: every file scanned, media types from content,
bulk tables delivered as table rows under their header (one row per record)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import docx
import openpyxl
from reportlab.pdfgen import canvas

from dlpscan.extract import open_documents
from dlpscan.model import Status, TableBlock

# Clearly fake people: test mobiles and IDs with valid check digits, names 测试甲…
PEOPLE = [
    ("测试甲", "13800138000", "11010519491231002X"),
    ("测试乙", "13900139000", "110101199003078670"),
    ("测试丙", "13700137000", "440308199901010012"),
]


def make_folder(root: Path) -> None:
    lines = ["姓名,手机号,身份证号"] + [",".join(p) for p in PEOPLE]
    (root / "客户清单.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    wb = openpyxl.Workbook()
    wb.active.append(["姓名", "手机", "证件号码"])
    for p in PEOPLE:
        wb.active.append(list(p))
    wb.save(root / "roster.xlsx")
    rows = [{"name": n, "mobile": m, "idNo": i} for n, m, i in PEOPLE]
    (root / "api_dump.json").write_text(json.dumps({"list": rows}, ensure_ascii=False), encoding="utf-8")
    letter = docx.Document()
    letter.add_paragraph("录用通知：测试甲，联系电话 13800138000。")
    letter.save(root / "offer.docx")
    pdf = canvas.Canvas(str(root / "notice.pdf"))
    pdf.drawString(72, 720, "Contact 13800138000")
    pdf.save()
    with zipfile.ZipFile(root / "bundle.zip", "w") as z:
        z.writestr("inner/list.csv", "\n".join(lines) + "\n")


def test_mixed_folder_is_read_with_media_types_and_table_rows(tmp_path):
    make_folder(tmp_path)
    seen = {}
    for path in sorted(tmp_path.iterdir()):
        for doc in open_documents(path, path.name):
            blocks = list(doc.blocks)
            rows = sum(len(b.rows) for b in blocks if isinstance(b, TableBlock))
            seen[doc.path] = (doc.status, doc.media_type, rows)
    assert seen == {
        "客户清单.csv": (Status.SCANNED, "text/csv", 3),
        "roster.xlsx": (
            Status.SCANNED,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            3,
        ),
        "api_dump.json": (Status.SCANNED, "application/json", 3),
        "offer.docx": (
            Status.SCANNED,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            0,
        ),
        "notice.pdf": (Status.SCANNED, "application/pdf", 0),
        "bundle.zip": (Status.SCANNED, "application/zip", 0),
        "bundle.zip!inner/list.csv": (Status.SCANNED, "text/csv", 3),
    }
