"""PDF extraction on generated PDFs (reportlab, ASCII only: CJK would need an embedded font)."""

from __future__ import annotations

from pathlib import Path

import pytest
from read_document import read

from dlpscan.extract import Limits
from dlpscan.model import Status, TableBlock, TextBlock

reportlab = pytest.importorskip("reportlab")
from reportlab.lib import colors  # noqa: E402
from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.lib.styles import getSampleStyleSheet  # noqa: E402
from reportlab.pdfgen import canvas  # noqa: E402
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Table, TableStyle  # noqa: E402


def text_pdf(path: Path, pages: int = 3, **kwargs) -> Path:
    c = canvas.Canvas(str(path), pagesize=A4, **kwargs)
    for p in range(pages):
        c.drawString(72, 800, f"Page {p + 1} customer list")
        c.drawString(72, 780, "Name: Zhang San Mobile: 13800138000")
        c.showPage()
    c.save()
    return path


def test_text_layer_per_page(tmp_path):
    doc, status, _, blocks = read(text_pdf(tmp_path / "list.pdf"))
    assert (doc.media_type, status) == ("application/pdf", Status.SCANNED)
    assert blocks == [
        TextBlock(f"Page {p} customer list\nName: Zhang San Mobile: 13800138000", f"page {p}")
        for p in (1, 2, 3)
    ]


def test_ruled_tables_become_table_blocks_and_continue_across_pages(tmp_path):
    grid = TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black)])
    rows = [[f"Person {i}", f"11010119900307{i:04d}", f"138001380{i:02d}"] for i in range(4)]
    first = Table([["Name", "ID number", "Mobile"], *rows[:2]], style=grid)
    second = Table(rows[2:], style=grid)  # continues on the next page without a header row
    path = tmp_path / "roster.pdf"
    SimpleDocTemplate(str(path), pagesize=A4).build(
        [Paragraph("Student roster", getSampleStyleSheet()["Title"]), first, PageBreak(), second]
    )
    _, status, _, blocks = read(path)
    assert status == Status.SCANNED
    header = ("Name", "ID number", "Mobile")
    assert blocks == [
        TextBlock("Student roster", "page 1"),
        TableBlock(header, [tuple(r) for r in rows[:2]], "page 1 table 1", 2),
        TableBlock(header, [tuple(r) for r in rows[2:]], "page 2 table 1", 1),
    ]


def test_image_only_pdf_is_skipped_without_ocr(tmp_path):
    pil = pytest.importorskip("PIL.Image")
    png = tmp_path / "scan.png"
    pil.new("RGB", (40, 40), (200, 10, 10)).save(png)
    path = tmp_path / "scan.pdf"
    c = canvas.Canvas(str(path))
    c.drawImage(str(png), 72, 600, 100, 100)
    c.showPage()
    c.save()
    _, status, reason, blocks = read(path, Limits(max_ocr_pages=0))  # OCR: tests/test_extract_ocr.py
    reason_off = "no text layer (image-only); OCR is turned off (limits.max_ocr_pages = 0)"
    assert (status, reason, blocks) == (Status.SKIPPED, reason_off, [])


def test_encrypted_pdf(tmp_path):
    _, status, reason, _ = read(text_pdf(tmp_path / "secret.pdf", pages=1, encrypt="secret"))
    assert (status, reason) == (Status.ENCRYPTED, "password-protected PDF")


def test_page_limit(tmp_path):
    _, status, reason, blocks = read(text_pdf(tmp_path / "long.pdf", pages=3), Limits(max_pdf_pages=2))
    assert (status, reason, blocks) == (Status.SKIPPED, "PDF has more pages than the limit (2)", [])


def test_truncated_pdf_never_raises_out(tmp_path):
    data = text_pdf(tmp_path / "full.pdf", pages=3).read_bytes()
    for cut in (10, len(data) // 3, len(data) - 40):
        path = tmp_path / f"cut{cut}.pdf"
        path.write_bytes(data[:cut])
        _, status, reason, _ = read(path)
        assert status in (Status.SCANNED, Status.ERROR)
        assert status == Status.SCANNED or reason == "PdfiumError: cannot parse PDF"
