"""Office documents: docx (python-docx), pptx (python-pptx) and RTF (striprtf).

Word text is read from the XML of each part: body paragraphs, tables (TableBlocks), headers,
footers, comments, footnotes/endnotes and text boxes (w:txbxContent; the mc:Fallback copy of
a text box is skipped so nothing is counted twice).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from lxml import etree

from dlpscan.extract.context import Context
from dlpscan.extract.errors import ExtractError
from dlpscan.extract.plain import split_text
from dlpscan.extract.source import Source
from dlpscan.extract.tables import table_blocks
from dlpscan.model import Block

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_P, _T, _TAB, _BR, _CR, _TBL, _TR, _TC, _TXBX = (
    f"{W}p",
    f"{W}t",
    f"{W}tab",
    f"{W}br",
    f"{W}cr",
    f"{W}tbl",
    f"{W}tr",
    f"{W}tc",
    f"{W}txbxContent",
)
_SIDE_PARTS = (
    ("header", "wordprocessingml.header+xml"),
    ("footer", "wordprocessingml.footer+xml"),
    ("comments", "wordprocessingml.comments+xml"),
    ("footnotes", "wordprocessingml.footnotes+xml"),
    ("endnotes", "wordprocessingml.endnotes+xml"),
)
_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def read_docx(src: Source, ctx: Context) -> Iterator[Block]:
    import docx

    with src.open() as f:
        try:
            document = docx.Document(f)
        except Exception as e:  # python-docx raises KeyError, ValueError, BadZipFile, lxml errors...
            error = ExtractError(f"{type(e).__name__}: cannot read Word document")
        else:
            error = None
    if error is not None:
        yield from _docx_parts(src, ctx, error)  # one malformed part must not hide the others
        return
    body = document.element.body
    paragraphs: list[str] = []
    tables = []
    for child in body.iterchildren():
        _collect(child, paragraphs, tables)
    yield from split_text("\n".join(p for p in paragraphs if p), ctx, "body")
    for n, rows in enumerate(tables, start=1):
        ctx.check()
        yield from table_blocks(iter(rows), ctx, f"table {n}", header_fallback="first")
    side: dict[str, list[str]] = {}
    boxes = _textboxes(body)
    for part in sorted(document.part.package.iter_parts(), key=lambda p: str(p.partname)):
        kind = next((k for k, ct in _SIDE_PARTS if part.content_type.endswith(ct)), None)
        if kind is not None:
            try:
                root = etree.fromstring(part.blob, _SAFE_XML)
            except etree.XMLSyntaxError:
                ctx.part_failed(str(part.partname))
                continue
            side.setdefault(kind, []).extend(_all_paragraphs(root))
            boxes.extend(_textboxes(root))
    for kind, _ in _SIDE_PARTS:
        yield from split_text("\n".join(p for p in side.get(kind, []) if p), ctx, kind)
    yield from split_text("\n".join(p for p in boxes if p), ctx, "text boxes")


_RECOVER_XML = etree.XMLParser(
    recover=True, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
)
_WORD_PART = re.compile(r"word/[^/]+\.xml")


def _docx_parts(src: Source, ctx: Context, error: ExtractError) -> Iterator[Block]:
    """The paragraphs of every Word XML part, read with a recovering parser, when python-docx
    cannot open the package (a malformed part, a missing relationship). Not a zip: `error`."""
    import zipfile

    try:
        with src.open() as f, zipfile.ZipFile(f) as zf:
            names = [i for i in zf.infolist() if _WORD_PART.fullmatch(i.filename)]
            if not names:
                raise error
            ctx.part_failed("package structure (read part by part)")
            for info in names:
                ctx.check()
                if info.file_size > ctx.limits.max_member_bytes:
                    ctx.part_failed(info.filename)
                    continue
                try:
                    root = etree.fromstring(zf.read(info), _RECOVER_XML)
                except (etree.XMLSyntaxError, zipfile.BadZipFile, OSError, ValueError):
                    root = None
                if root is None:
                    ctx.part_failed(info.filename)
                    continue
                yield from split_text("\n".join(p for p in _all_paragraphs(root) if p), ctx, info.filename)
    except zipfile.BadZipFile:
        raise error from None


def _textboxes(root) -> list[str]:
    """Paragraphs of the text boxes under `root`, each box once (its mc:Fallback copy skipped)."""
    return [t for box in root.iter(_TXBX) if not _in_fallback(box) for t in _all_paragraphs(box)]


def _collect(el, paragraphs: list[str], tables: list) -> None:
    """Body order: paragraphs to text, tables to rows; content controls (w:sdt) are looked into."""
    if el.tag == _P:
        paragraphs.append(_para_text(el))
    elif el.tag == _TBL:
        tables.append([_row_cells(tr) for tr in el.iter(_TR) if _owner_table(tr) is el])
    else:
        for child in el.iterchildren():
            _collect(child, paragraphs, tables)


def _owner_table(tr):
    parent = tr.getparent()
    while parent is not None and parent.tag != _TBL:
        parent = parent.getparent()
    return parent


def _row_cells(tr) -> tuple[str, ...]:
    cells = [tc for tc in tr.iter(_TC) if _owner_row(tc) is tr]
    return tuple(" ".join("\n".join(_all_paragraphs(tc)).split()) for tc in cells)


def _owner_row(tc):
    parent = tc.getparent()
    while parent is not None and parent.tag != _TR:
        parent = parent.getparent()
    return parent


def _all_paragraphs(root) -> list[str]:
    """Text of every paragraph under `root` (tables included), text boxes excepted."""
    out = []
    for p in root.iter(_P):
        if not _in_textbox(p, root):
            out.append(_para_text(p))
    return out


def _in_textbox(el, root) -> bool:
    parent = el.getparent()
    while parent is not None and parent is not root:
        if parent.tag == _TXBX:
            return True
        parent = parent.getparent()
    return False


def _in_fallback(el) -> bool:
    parent = el.getparent()
    while parent is not None:
        if parent.tag == MC_FALLBACK:
            return True
        parent = parent.getparent()
    return False


def _para_text(p) -> str:
    parts: list[str] = []
    _run_text(p, parts)
    return "".join(parts)


def _run_text(el, parts: list[str]) -> None:
    for child in el.iterchildren():
        tag = child.tag
        if tag == _T:
            parts.append(child.text or "")
        elif tag == _TAB:
            parts.append("\t")
        elif tag in (_BR, _CR):
            parts.append("\n")
        elif tag in (_TXBX, MC_FALLBACK, _P):
            continue  # text boxes are read on their own; nested paragraphs by their own pass
        else:
            _run_text(child, parts)


def read_pptx(src: Source, ctx: Context) -> Iterator[Block]:
    import pptx

    with src.open() as f:
        try:
            presentation = pptx.Presentation(f)
        except Exception as e:  # python-pptx raises KeyError, ValueError, BadZipFile, lxml errors...
            raise ExtractError(f"{type(e).__name__}: cannot read presentation") from None
    for n, slide in enumerate(presentation.slides, start=1):
        ctx.check()
        texts: list[str] = []
        tables: list[list[tuple[str, ...]]] = []
        _shapes(slide.shapes, texts, tables)
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            texts.append(slide.notes_slide.notes_text_frame.text)
        yield from split_text("\n".join(t for t in texts if t), ctx, f"slide {n}")
        for k, rows in enumerate(tables, start=1):
            yield from table_blocks(iter(rows), ctx, f"slide {n} table {k}", header_fallback="first")


def _shapes(shapes, texts: list[str], tables: list) -> None:
    from pptx.shapes.group import GroupShape
    from pptx.table import _Cell

    for shape in shapes:
        if getattr(shape, "has_table", False) and shape.has_table:
            table = shape.table  # its rows by their XML, once: table.rows[i] runs an XPath over all rows
            tables.append(
                [
                    tuple(" ".join(_Cell(tc, table).text.split()) for tc in tr.tc_lst)
                    for tr in table._tbl.tr_lst
                ]
            )
        elif isinstance(shape, GroupShape):
            _shapes(shape.shapes, texts, tables)  # group shape
        elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            texts.append(shape.text_frame.text)


_ANSICPG = re.compile(rb"\\ansicpg(\d+)")


def read_rtf(src: Source, ctx: Context) -> Iterator[Block]:
    from striprtf.striprtf import rtf_to_text

    with src.open() as f:
        data = f.read()
    m = _ANSICPG.search(data[:4096])
    codepage = f"cp{int(m.group(1))}" if m else "cp1252"
    if codepage == "cp936":
        codepage = "gb18030"
    try:
        "".encode(codepage)
    except LookupError:
        codepage = "cp1252"
    text = rtf_to_text(data.decode("latin-1"), encoding=codepage, errors="replace")
    yield from split_text(text, ctx, "text")
