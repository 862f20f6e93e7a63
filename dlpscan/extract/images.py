"""Text that is only an image: image files, image-only PDF pages and images inside Office documents.

Each image is opened with Pillow restricted to raster formats (never EPS, which runs Ghostscript),
its size is checked from the header before any pixel is decoded (decompression bombs), icons and
logos too small to hold a line of text are skipped, and the rest is read by the OCR engine
(`extract.ocr`) into layout-keeping blocks (`extract.ocr_layout`). Every page or image counts
against `max_ocr_pages` per document; OCR time counts against the document's decode clock.
Without the OCR extra, image files and image-only PDFs are `skipped` with a reason that says how
to enable OCR, and images inside documents are counted in the notes.
"""

from __future__ import annotations

import functools
import io
import warnings
import zipfile
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, BinaryIO

from dlpscan.extract import ocr
from dlpscan.extract.archive import overlapping
from dlpscan.extract.context import Context
from dlpscan.extract.errors import ExtractError, LimitExceeded, Unsupported
from dlpscan.extract.ocr_layout import layout_blocks
from dlpscan.extract.source import Source
from dlpscan.model import Block

if TYPE_CHECKING:
    from PIL import Image

IMAGE_TYPES = {
    "image/jpeg",
    "image/png",
    "image/tiff",
    "image/bmp",
    "image/x-ms-bmp",
    "image/webp",
    "image/gif",
    "image/heic",
    "image/heif",
    "image/avif",
}
# Pillow formats that may be opened (raster only; HEIF/AVIF through pillow-heif when installed).
_FORMATS = ("JPEG", "MPO", "PNG", "TIFF", "BMP", "DIB", "WEBP", "GIF", "HEIF", "AVIF")
_MULTI_PAGE = {"TIFF"}  # other formats' extra frames are animation, not pages
MIN_SIDE = 16  # px: no line of text fits in fewer
MIN_LONG_SIDE = 64  # px: icons and bullets
PDF_DPI = 150  # image-only PDF pages are rendered at this resolution (bench/bench_ocr.py)
OCR_PAGES = "ocr_pages"
OCR_IMAGES = "ocr_images"
OCR_SMALL = "ocr_images_small"
OCR_UNREADABLE = "ocr_images_unreadable"
OCR_OVER_LIMIT = "ocr_over_limit"
NOT_INSTALLED = "ocr_not_installed"
MEDIA_DIRS = ("word/media/", "xl/media/", "ppt/media/", "Pictures/")
_PIL_ERRORS = (OSError, ValueError, SyntaxError, EOFError, MemoryError)


def read_image(src: Source, ctx: Context) -> Iterator[Block]:
    """An image file: every page of a TIFF, the first frame of anything else."""
    if not ocr.available() or not ctx.limits.max_ocr_pages:
        raise ocr.OcrUnavailable(unread_reason("image not read", ctx))
    with src.open() as f:
        image = _open(f, ctx)
        try:
            frame = 0
            while True:
                if not _ocr_budget(ctx):
                    raise LimitExceeded(f"OCR page limit reached ({ctx.limits.max_ocr_pages} per document)")
                location = "image" if frame == 0 else f"image page {frame + 1}"
                small = _too_small(image)
                if small and frame == 0 and not _has_next_frame(image):
                    raise Unsupported(f"image too small to hold text ({small})")
                if not small:
                    yield from ocr_image(image, ctx, location, OCR_IMAGES)
                frame += 1
                if image.format not in _MULTI_PAGE or not _seek(image, frame, ctx):
                    return
        finally:
            image.close()


def ocr_image(image: Image.Image, ctx: Context, location: str, counter: str) -> list[Block]:
    """OCR one image (or frame) into blocks, counted under `counter` in the notes."""
    from PIL import ImageOps

    ctx.check()
    try:
        if image.format == "JPEG":  # decode at a fraction of the size (DCT scaling): less time, memory
            image.draft("RGB", (ocr.MAX_SIDE, ocr.MAX_SIDE))
        upright = ImageOps.exif_transpose(image) if image.getexif() else image
        rgb = upright.convert("RGB")
    except _PIL_ERRORS as e:
        raise ExtractError(f"{type(e).__name__}: cannot decode image") from None
    rgb.thumbnail((ocr.MAX_SIDE, ocr.MAX_SIDE))
    items = _read_upright(rgb)
    ctx.note(counter)
    return layout_blocks(items, location)


def ocr_pdf_page(page, ctx: Context, location: str) -> list[Block]:
    """OCR a PDF page (pypdfium2 PdfPage) rendered at PDF_DPI."""
    width, height = page.get_size()
    scale = min(PDF_DPI / 72, ocr.MAX_SIDE / max(width, height, 1))
    if width * height * scale * scale > ctx.limits.max_image_pixels:
        raise LimitExceeded("PDF page larger than the image pixel limit")
    bitmap = page.render(scale=scale)
    try:
        return ocr_image(bitmap.to_pil(), ctx, location, OCR_PAGES)
    finally:
        bitmap.close()


def can_ocr_more(ctx: Context) -> bool:
    """Whether OCR is installed and the document's OCR page budget has room; notes what is left."""
    if not ocr.available():
        ctx.note(NOT_INSTALLED)
        return False
    if not _ocr_budget(ctx):
        ctx.note(OCR_OVER_LIMIT)
        return False
    return True


def unread_reason(what: str, ctx: Context) -> str:
    """Why an image went unread, with how to enable OCR."""
    if not ocr.available():
        return f"{what}; {ocr.INSTALL_HINT}"
    if not ctx.limits.max_ocr_pages:
        return f"{what}; OCR is turned off (limits.max_ocr_pages = 0)"
    return what


def check_budget(ctx: Context, wanted: int) -> None:
    """After a document: report images left unread because the OCR page budget ran out."""
    left = ctx.notes.get(OCR_OVER_LIMIT, 0)
    if left:
        raise LimitExceeded(
            f"OCR page limit reached ({ctx.limits.max_ocr_pages} per document): {left} of {wanted} images "
            "or image-only pages not read"
        )


def with_embedded_images(reader: Callable[[Source, Context], Iterator[Block]]):
    """A reader for a zip-based Office document that also reads the images stored inside it."""

    def read(src: Source, ctx: Context) -> Iterator[Block]:
        yield from reader(src, ctx)
        yield from embedded_images(src, ctx)

    return read


def embedded_images(src: Source, ctx: Context) -> Iterator[Block]:
    """Images in the media folders of an OOXML or ODF package; a bad image is counted, not fatal."""
    lim = ctx.limits
    with src.open() as f:
        try:
            zf = zipfile.ZipFile(f)
        except (zipfile.BadZipFile, OSError, ValueError):
            return
        with zf:
            infos = [i for i in zf.infolist() if i.filename.startswith(MEDIA_DIRS) and not i.is_dir()]
            if not infos or overlapping(infos):
                return
            for info in infos:
                ctx.check()
                if not can_ocr_more(ctx):
                    continue
                if info.file_size > lim.max_member_bytes or info.file_size > lim.max_compression_ratio * max(
                    info.compress_size, 1
                ):
                    ctx.note(OCR_UNREADABLE)
                    continue
                try:
                    with zf.open(info) as member:
                        data = member.read(info.file_size + 1)
                except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, EOFError):
                    ctx.note(OCR_UNREADABLE)
                    continue
                yield from _embedded(data, info.filename, ctx)


def _embedded(data: bytes, name: str, ctx: Context) -> list[Block]:
    try:
        image = _open(io.BytesIO(data), ctx)
    except ExtractError:
        ctx.note(OCR_UNREADABLE)  # not a raster image (EMF, WMF, SVG) or a damaged one
        return []
    try:
        if _too_small(image):
            ctx.note(OCR_SMALL)
            return []
        return ocr_image(image, ctx, name, OCR_IMAGES)
    except LimitExceeded:
        raise
    except ExtractError:
        ctx.note(OCR_UNREADABLE)
        return []
    finally:
        image.close()


def _open(f: BinaryIO, ctx: Context) -> Image.Image:
    """Open an image lazily and check its size from the header, before decoding any pixel."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(f, formats=_formats())
    except Image.DecompressionBombError:
        raise LimitExceeded("image larger than the pixel limit") from None
    except Image.UnidentifiedImageError:
        raise ExtractError("UnidentifiedImageError: not a readable image") from None
    except _PIL_ERRORS as e:
        raise ExtractError(f"{type(e).__name__}: cannot read image") from None
    _check_pixels(image, ctx)
    return image


def _check_pixels(image: Image.Image, ctx: Context) -> None:
    width, height = image.size
    if width * height > ctx.limits.max_image_pixels:
        raise LimitExceeded(
            f"image larger than the pixel limit ({ctx.limits.max_image_pixels / 1e6:g} megapixels)"
        )


def _seek(image: Image.Image, frame: int, ctx: Context) -> bool:
    try:
        image.seek(frame)
    except EOFError:
        return False
    except _PIL_ERRORS as e:
        raise ExtractError(f"{type(e).__name__}: cannot read image page") from None
    _check_pixels(image, ctx)
    return True


def _has_next_frame(image: Image.Image) -> bool:
    return image.format in _MULTI_PAGE and getattr(image, "n_frames", 1) > 1


def _too_small(image: Image.Image) -> str | None:
    width, height = image.size
    if min(width, height) < MIN_SIDE or max(width, height) < MIN_LONG_SIDE:
        return f"{width}x{height} px"
    return None


def _ocr_budget(ctx: Context) -> bool:
    used = ctx.notes.get(OCR_PAGES, 0) + ctx.notes.get(OCR_IMAGES, 0)
    return used < ctx.limits.max_ocr_pages


def _read_upright(rgb: Image.Image) -> list[ocr.TextItem]:
    """Text items of the image; an image lying on its side (most text runs vertical) is turned."""
    items = ocr.recognise(rgb)
    if not _mostly_vertical(items):
        return items
    turned = [ocr.recognise(rgb.rotate(angle, expand=True), use_cls=False) for angle in (90, 270)]
    best = max(turned, key=_weight)
    return ocr.recognise(rgb.rotate(90 if best is turned[0] else 270, expand=True))


def _mostly_vertical(items: list[ocr.TextItem]) -> bool:
    long_runs = [i for i in items if len(i.text) >= 3]
    vertical = sum(1 for i in long_runs if _height(i) > 2 * _width(i))
    return vertical * 2 > len(long_runs) > 0


def _width(item: ocr.TextItem) -> float:
    (x0, y0), (x1, y1) = item.box[0], item.box[1]
    return ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5


def _height(item: ocr.TextItem) -> float:
    (x1, y1), (x2, y2) = item.box[1], item.box[2]
    return ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5


def _weight(items: list[ocr.TextItem]) -> float:
    return sum(len(i.text) * i.confidence for i in items)


@functools.cache
def _formats() -> tuple[str, ...]:
    """The raster formats this Pillow can open; HEIC/HEIF with pillow-heif (registered once)."""
    from PIL import Image

    try:
        import pillow_heif
    except ImportError:
        pass
    else:
        pillow_heif.register_heif_opener()
    Image.init()
    return tuple(f for f in _FORMATS if f in Image.OPEN)
