"""Office documents and e-mail on generated files: docx, pptx, eml, legacy and encrypted OLE."""

from __future__ import annotations

import io
from email.message import EmailMessage
from pathlib import Path

import docx
import openpyxl
import pptx
from lxml import etree
from pptx.util import Inches

from dlpscan.extract import Limits, open_documents
from dlpscan.extract.documents import LEGACY_OFFICE
from dlpscan.extract.errors import ExtractError
from dlpscan.model import Status, TableBlock, TextBlock

NS = (
    'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
    'xmlns:v="urn:schemas-microsoft-com:vml"'
)
TEXTBOX = f"""<w:p {NS}><w:r><mc:AlternateContent>
<mc:Choice Requires="wps"><w:drawing><wps:txbx><w:txbxContent><w:p><w:r><w:t>文本框 13700137000</w:t></w:r></w:p>
</w:txbxContent></wps:txbx></w:drawing></mc:Choice>
<mc:Fallback><w:pict><v:textbox><w:txbxContent><w:p><w:r><w:t>文本框 13700137000</w:t></w:r></w:p></w:txbxContent>
</v:textbox></w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>"""


def read_all(path: Path, limits: Limits = Limits()):  # noqa: B008
    """[(path, media type, effective status, reason, blocks)] for every document of the file."""
    out = []
    for doc in open_documents(path, path.name, limits):
        blocks, status, reason = [], doc.status, doc.reason
        try:
            blocks.extend(doc.blocks)
        except ExtractError as e:
            status, reason = e.status, str(e)
        out.append((doc.path, doc.media_type, status, reason, blocks))
    return out


def make_docx(path: Path) -> None:
    d = docx.Document()
    d.add_paragraph("客户名单")
    p = d.add_paragraph("正文 联系人 张三")
    d.add_comment(p.runs[0], text="请核实 13600136000", author="审核")
    table = d.add_table(rows=3, cols=3)
    for r, values in enumerate(
        [("姓名", "身份证号", "联系电话"), ("张三", "110101199003077777", "13800138000"), ("李四", "", "139")]
    ):
        for c, value in enumerate(values):
            table.cell(r, c).text = value
    d.element.body.insert(len(d.element.body) - 1, etree.fromstring(TEXTBOX))
    d.sections[0].header.paragraphs[0].text = "页眉 机密"
    d.sections[0].footer.paragraphs[0].text = "页脚 第1页"
    d.save(path)


def test_docx_body_table_header_footer_comment_textbox(tmp_path):
    path = tmp_path / "名册.docx"
    make_docx(path)
    [(_, media_type, status, _, blocks)] = read_all(path)
    assert media_type == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert status == Status.SCANNED
    assert blocks == [
        TextBlock("客户名单\n正文 联系人 张三", "body"),
        TableBlock(
            ("姓名", "身份证号", "联系电话"),
            [("张三", "110101199003077777", "13800138000"), ("李四", "", "139")],
            "table 1",
            2,
        ),
        TextBlock("页眉 机密", "header"),
        TextBlock("页脚 第1页", "footer"),
        TextBlock("请核实 13600136000", "comments"),
        TextBlock("文本框 13700137000", "text boxes"),
    ]


def test_pptx_slides_tables_notes(tmp_path):
    prs = pptx.Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[5])
    slide.shapes.title.text = "客户回访"
    shape = slide.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(4), Inches(1))
    for (r, c), v in {(0, 0): "姓名", (0, 1): "手机", (1, 0): "张三", (1, 1): "13800138000"}.items():
        shape.table.cell(r, c).text = v
    slide.notes_slide.notes_text_frame.text = "备注 13900139000"
    path = tmp_path / "deck.pptx"
    prs.save(path)
    [(_, _, status, _, blocks)] = read_all(path)
    assert status == Status.SCANNED
    assert blocks == [
        TextBlock("客户回访\n备注 13900139000", "slide 1"),
        TableBlock(("姓名", "手机"), [("张三", "13800138000")], "slide 1 table 1", 2),
    ]


def test_eml_with_html_body_and_xlsx_attachment(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["姓名", "手机"])
    wb.active.append(["张三", "13800138000"])
    xlsx = io.BytesIO()
    wb.save(xlsx)
    msg = EmailMessage()
    msg["From"] = "王五 <wang@example.com>"
    msg["To"] = "li@example.com"
    msg["Subject"] = "客户资料"
    msg.set_content(
        "<p>见附件</p><table><tr><th>姓名</th></tr><tr><td>赵六</td></tr></table>", subtype="html"
    )
    msg.add_attachment(xlsx.getvalue(), maintype="application", subtype="octet-stream", filename="客户.xlsx")
    path = tmp_path / "mail.eml"
    path.write_bytes(msg.as_bytes())
    docs = read_all(path)
    assert [(p, mt, st) for p, mt, st, _, _ in docs] == [
        ("mail.eml", "message/rfc822", Status.SCANNED),
        (
            "mail.eml!客户.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Status.SCANNED,
        ),
    ]
    assert docs[0][4] == [
        TextBlock("From: 王五 <wang@example.com>\nTo: li@example.com\nSubject: 客户资料", "message"),
        TableBlock(("姓名",), [("赵六",)], "table 1", 2),
        TextBlock("见附件", "text"),
    ]
    assert docs[1][4] == [TableBlock(("姓名", "手机"), [("张三", "13800138000")], "sheet Sheet", 2)]


def _ole_file(path: Path) -> None:
    """A minimal (empty) OLE compound file header: enough for libmagic and msoffcrypto to look at."""
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    header[24:26] = b"\x3e\x00"
    header[26:28] = b"\x03\x00"
    header[28:30] = b"\xfe\xff"
    header[30:32] = b"\x09\x00"
    header[32:34] = b"\x06\x00"
    path.write_bytes(bytes(header) + b"\x00" * 1536)


def test_legacy_word_is_skipped_with_reason(tmp_path):
    path = tmp_path / "old.doc"
    _ole_file(path)
    [(_, _, status, reason, blocks)] = read_all(path)
    assert (status, reason, blocks) == (Status.SKIPPED, LEGACY_OFFICE, [])
    assert LEGACY_OFFICE == "legacy binary Word/PowerPoint format not supported"


def test_damaged_docx_is_an_error(tmp_path):
    path = tmp_path / "broken.docx"
    make_docx(path)
    data = path.read_bytes()
    path.write_bytes(data[:3000])
    [(_, _, status, reason, _)] = read_all(path)
    assert status == Status.ERROR
    assert reason


def test_damaged_outlook_msg_is_an_error(tmp_path):
    path = tmp_path / "mail.msg"
    _ole_file(path)
    [(_, _, status, reason, _)] = read_all(path)
    assert status == Status.ERROR
    assert reason.endswith("cannot read Outlook message")


def test_generated_outlook_msg_headers_body_and_attachment_are_read(tmp_path):
    """A .msg built by the fuzz seeds' compound-file writer (tests/fuzz/compound.py), read through
    libmagic routing and extract-msg: headers and body as text, the attachment as its own table."""
    from fuzz import seeds

    path = tmp_path / "mail.msg"
    path.write_bytes(seeds.outlook_msg(2, [seeds.delimited(3)]))
    docs = read_all(path)
    assert [(p, s) for p, _, s, _, _ in docs] == [
        ("mail.msg", Status.SCANNED),
        ("mail.msg!客户0.csv", Status.SCANNED),
    ]
    text = "\n".join(b.text for b in docs[0][4] if isinstance(b, TextBlock))
    assert "Subject: 客户资料" in text
    assert "To: 李四 <li@example.com>" in text
    assert sum(line.count("身份证") for line in text.splitlines()) == 2  # one per person in the body
    assert sum(len(b.rows) for b in docs[1][4] if isinstance(b, TableBlock)) == 3
