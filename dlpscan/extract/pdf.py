"""PDF: pypdfium2 text per page (fast path), pdfplumber tables on pages that have ruled lines.

The choice is made per page from pdfium's object counts, which cost microseconds: only a page with
text and enough vector paths to draw a grid (`RULED_PATHS` path objects with `RULED_SEGMENTS`
segments, i.e. a 2x2 table or more) is handed to pdfplumber's `find_tables()`. Its tables become
TableBlocks (first row as header, or the header of the previous page's table when a table continues
without one); the rest of the page is text.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from dlpscan.extract import images as images_ocr
from dlpscan.extract.context import Context, TimeBoxExpired, time_box
from dlpscan.extract.errors import EncryptedError, ExtractError, LimitExceeded, Unsupported
from dlpscan.extract.source import Source
from dlpscan.extract.tables import chunk_rows, clean_header, is_label_row
from dlpscan.model import Block, TextBlock

RULED_PATHS = 4
RULED_SEGMENTS = 12
# pdfplumber's table finding is pure Python and grows faster than linearly with the edges on a page,
# and pdfminer decodes streams (predictors, LZW) in Python: both are bounded, then pdfium's text is used.
MAX_PLUMBER_PATHS = 5_000
PLUMBER_SECONDS = 30.0  # pdfplumber time per document
PLUMBER_TIMED_OUT = "pdf_tables_time_limit"
IMAGE_ONLY = "no text layer (image-only)"
UNREADABLE_PAGE = "pdf_page_unreadable"


def read_pdf(src: Source, ctx: Context) -> Iterator[Block]:
    pdf = _open(src)
    plumber = None
    try:
        n = len(pdf)
        if n > ctx.limits.max_pdf_pages:
            raise LimitExceeded(f"PDF has more pages than the limit ({ctx.limits.max_pdf_pages})")
        any_text = any_image = False
        plumber_left = PLUMBER_SECONDS
        image_only = 0
        last_header: tuple[str, ...] | None = None
        bad_pages = 0
        for i in range(n):
            ctx.check()
            try:
                text, paths, segments, images = _read_page(pdf, i)
            except pdfium.PdfiumError:
                bad_pages += 1  # a damaged page: the others are still worth reading
                ctx.note(UNREADABLE_PAGE)
                continue
            any_image = any_image or images > 0
            if not text.strip():
                if images:
                    image_only += 1
                    yield from _ocr_page(pdf, i, ctx)
                continue
            any_text = True
            if (
                plumber is not False
                and RULED_PATHS <= paths <= MAX_PLUMBER_PATHS
                and segments >= RULED_SEGMENTS
            ):
                started = time.monotonic()
                try:
                    with time_box(plumber_left):
                        if plumber is None:
                            plumber = _open_plumber(src) or False
                        blocks, header = (
                            _plumber_page(plumber, i, ctx, last_header) if plumber else (None, None)
                        )
                except TimeBoxExpired:  # pdfminer (pure Python) on a hostile stream: tables by pdfium text
                    ctx.note(PLUMBER_TIMED_OUT)
                    _close(plumber)
                    plumber, blocks = False, None
                plumber_left -= time.monotonic() - started
                if blocks is not None:
                    last_header = header
                    yield from blocks
                    continue
            last_header = None
            yield TextBlock(text, f"page {i + 1}")
        if n and bad_pages == n:
            raise ExtractError("PdfiumError: no readable page")
        if not any_text and any_image and not ctx.notes.get(images_ocr.OCR_PAGES):
            raise Unsupported(images_ocr.unread_reason(IMAGE_ONLY, ctx))
        images_ocr.check_budget(ctx, image_only)
    finally:
        _close(plumber)
        pdf.close()


def _close(plumber) -> None:
    if plumber:
        with contextlib.suppress(Exception):  # pdfminer may fail again while closing
            plumber.close()


def _ocr_page(pdf: pdfium.PdfDocument, index: int, ctx: Context) -> list[Block]:
    """A page without a text layer, read by OCR when it is installed and the budget allows."""
    if not images_ocr.can_ocr_more(ctx):
        return []
    page = pdf[index]
    try:
        return images_ocr.ocr_pdf_page(page, ctx, f"page {index + 1}")
    finally:
        page.close()


def _open(src: Source) -> pdfium.PdfDocument:
    try:
        if src.path is not None:
            return pdfium.PdfDocument(str(src.path))
        with src.open() as f:
            return pdfium.PdfDocument(f.read())
    except pdfium.PdfiumError as e:
        if getattr(e, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
            raise EncryptedError("password-protected PDF") from None
        raise ExtractError("PdfiumError: cannot parse PDF") from None


def _read_page(pdf: pdfium.PdfDocument, index: int) -> tuple[str, int, int, int]:
    page = pdf[index]
    try:
        return (_page_text(page), *_count_objects(page))
    finally:
        page.close()


def _page_text(page: pdfium.PdfPage) -> str:
    textpage = page.get_textpage()
    try:
        return textpage.get_text_range().replace("\r\n", "\n").replace("\r", "\n")
    finally:
        textpage.close()


def _count_objects(page: pdfium.PdfPage) -> tuple[int, int, int]:
    """(path objects, their segments, image or form objects) on the page, top level only."""
    raw = page.raw
    paths = segments = images = 0
    for j in range(pdfium_c.FPDFPage_CountObjects(raw)):
        obj = pdfium_c.FPDFPage_GetObject(raw, j)
        kind = pdfium_c.FPDFPageObj_GetType(obj)
        if kind == pdfium_c.FPDF_PAGEOBJ_PATH:
            paths += 1
            segments += pdfium_c.FPDFPath_CountSegments(obj)
        elif kind in (pdfium_c.FPDF_PAGEOBJ_IMAGE, pdfium_c.FPDF_PAGEOBJ_FORM):
            images += 1
    return paths, segments, images


def _open_plumber(src: Source):
    import pdfplumber

    try:
        return pdfplumber.open(str(src.path) if src.path is not None else src.open())
    except Exception:  # pdfminer raises many kinds; the text layer is still read by pdfium
        return None


def _plumber_page(plumber, index: int, ctx: Context, last_header: tuple[str, ...] | None):
    """(blocks or None when the page has no table, header of the page's last table)."""
    try:
        page = plumber.pages[index]
    except Exception:
        return None, None
    try:
        found = page.find_tables()
        if not found:
            return None, None
        outside = page
        for t in found:
            outside = outside.outside_bbox(t.bbox, strict=False)
        rest = outside.extract_text() or ""
        tables = [t.extract() for t in found]
    except Exception:  # a pdfminer failure on one page: fall back to the page's plain text
        return None, None
    finally:
        with contextlib.suppress(Exception):
            page.close()
    blocks: list[Block] = []
    if rest.strip():
        blocks.append(TextBlock(rest, f"page {index + 1}"))
    for k, rows in enumerate(tables, start=1):
        rows = [tuple(" ".join((c or "").split()) for c in row) for row in rows if any(row)]
        if not rows:
            continue
        if last_header is not None and len(rows[0]) == len(last_header) and not is_label_row(rows[0]):
            header, data, first = last_header, rows, 1  # the table continues from the previous page
        else:
            header, data, first = clean_header(rows[0]), rows[1:], 2
        blocks.extend(chunk_rows(data, iter(()), header, ctx, f"page {index + 1} table {k}", first))
        last_header = header
    return blocks, last_header
