"""Every public test fixture in tests/data/external/docs yields Documents with a sensible status.

These are other projects' adversarial and CJK fixtures (see MANIFEST.csv and PROVENANCE.md
there). Each file must be read without an exception escaping and within a bounded time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dlpscan.extract import open_documents
from dlpscan.extract.errors import ExtractError
from dlpscan.model import Status, TableBlock, TextBlock

DOCS = Path(__file__).resolve().parent / "data" / "external" / "docs"
FILES = sorted(p.name for p in DOCS.iterdir() if p.is_file() and p.name != "MANIFEST.csv")

ENCRYPTED = {
    "robust_password.xlsx",
    "robust_password.xls",
    "robust_password.xlsb",
    "robust_password.ods",
    "robust_password_protected.pdf",
}


def read_all(name: str):
    out = []
    for doc in open_documents(DOCS / name, name):
        blocks, status, reason = [], doc.status, doc.reason
        try:
            blocks.extend(doc.blocks)
        except ExtractError as e:
            status, reason = e.status, str(e)
        out.append((doc, status, reason, blocks))
    return out


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", FILES)
def test_fixture_yields_a_sensible_status(name):
    docs = read_all(name)
    assert len(docs) == 1
    doc, status, reason, blocks = docs[0]
    expected = Status.ENCRYPTED if name in ENCRYPTED else Status.SCANNED
    assert status == expected, reason
    assert status == Status.SCANNED or reason
    if status == Status.SCANNED and doc.size:
        assert all(isinstance(b, (TextBlock, TableBlock)) for b in blocks)
    if doc.size == 0:
        assert (doc.media_type, blocks) == ("application/x-empty", [])


def _texts(name: str) -> dict[str, str]:
    [(_, _, _, blocks)] = read_all(name)
    out: dict[str, str] = {}
    for b in blocks:
        content = b.text if isinstance(b, TextBlock) else "\n".join("\t".join(r) for r in [b.header, *b.rows])
        out[b.location] = out.get(b.location, "") + content
    return out


def test_hidden_sheets_are_read():
    locations = _texts("robust_oom_alloc.xls")  # most of its sheets are hidden, with data
    assert {"sheet Data", "sheet Data People", "sheet template from eol"} <= set(locations)


def test_gb2312_csv_is_decoded():
    assert _texts("enc_gb2312_chinese.csv") == {"lines 1-1": "中文测试内容,Test Content"}
    assert _texts("enc_gb2312_chinese_2.csv") == {"lines 1-2": "栏位1\n世界你好"}


def test_docx_headers_footers_comments():
    hf = _texts("docx_header_footer.docx")
    assert "Header for section-1" in hf["header"] and "Footer for section 1" in hf["footer"]
    assert "Text with hyperlink" in _texts("docx_comments.docx")["comments"]


def test_pdf_tables_found():
    [(_, _, _, blocks)] = read_all("cjk_land_use_standard_tables.pdf")
    assert any(isinstance(b, TableBlock) and "车道数" in b.header for b in blocks)
