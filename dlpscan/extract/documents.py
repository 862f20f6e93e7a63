"""From a file to Documents: sniff, route to a reader, recurse into archives and e-mails.

Nothing here raises for bad content. Problems known up front (size, encryption, unsupported
format, hostile archive) become a Document with a status and a reason; problems found while
reading become an ExtractError raised from `Document.blocks` (any other exception from a
library is converted, with its class name and a generic message only, never content).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from dlpscan import plugins
from dlpscan.extract import archive, columnar, excel, images, mail, office, pdf, sniff, text
from dlpscan.extract.context import Context
from dlpscan.extract.errors import ExtractError, LimitExceeded
from dlpscan.extract.limits import Limits
from dlpscan.extract.source import FileSource, Source
from dlpscan.model import Block, Document, Status, TableBlock, TextBlock

LEGACY_OFFICE = "legacy binary Word/PowerPoint format not supported"
ENCRYPTED_OFFICE = "password-protected Office file"

_SPREADSHEETS = {
    sniff.XLSX,
    sniff.XLSM,
    sniff.XLSB,
    sniff.XLS,
    sniff.ODS,
    "application/vnd.ms-excel.sheet.macroenabled.12",
}
_OLE = {
    "application/x-ole-storage",
    "application/CDFV2",
    "application/CDFV2-unknown",
    "application/CDFV2-encrypted",
    "application/encrypted",
    "application/vnd.ms-office",
    "application/msword",
    "application/vnd.ms-powerpoint",
    "application/vnd.ms-excel",
    "application/vnd.ms-outlook",
}
_TEXT_SUFFIXES = {
    ".csv",
    ".tsv",
    ".txt",
    ".log",
    ".json",
    ".jsonl",
    ".ndjson",
    ".sql",
    ".xml",
    ".md",
    ".htm",
    ".html",
}
_BY_SUFFIX = {
    ".xlsx": sniff.XLSX,
    ".xlsm": sniff.XLSM,
    ".xlsb": sniff.XLSB,
    ".xls": sniff.XLS,
    ".ods": sniff.ODS,
    ".docx": sniff.DOCX,
    ".pptx": sniff.PPTX,
    ".pdf": "application/pdf",
}
_EMAIL = {"message/rfc822"}
_RTF = {"text/rtf", "application/rtf"}


def open_documents(path: Path, display_path: str, limits: Limits = Limits()) -> Iterator[Document]:  # noqa: B008
    """Yield one Document for the file, and (for archives and e-mails) one per member, recursively."""
    try:
        src = FileSource(Path(path), Path(path).name)
    except OSError as e:
        yield Document(
            display_path, sniff.OCTET, status=Status.ERROR, reason=f"{type(e).__name__}: cannot open file"
        )
        return
    yield from documents_of(src, display_path, limits, depth=0, budget=None)


def documents_of(
    src: Source,
    display: str,
    limits: Limits,
    depth: int,
    budget: archive.Budget | None,
    media_type: str | None = None,
) -> Iterator[Document]:
    """Documents of one source; `media_type` skips sniffing (the fuzz harness picks the reader)."""
    try:
        media_type = media_type or sniff.sniff_source(src)
    except Exception as e:  # libmagic failures on unreadable files
        src.close()
        yield Document(
            display, sniff.OCTET, status=Status.ERROR, reason=f"{type(e).__name__}: cannot read file"
        )
        return
    size = src.size
    if size > limits.max_file_bytes:
        src.close()
        yield Document(display, media_type, status=Status.SKIPPED, reason="file larger than limit", size=size)
        return
    if size == 0:
        src.close()
        yield Document(display, sniff.EMPTY, size=0)
        return
    try:
        route = _route(src, media_type)
    except Exception as e:  # defensive: routing reads a few bytes (encryption probes)
        src.close()
        yield Document(
            display, media_type, status=Status.ERROR, reason=f"{type(e).__name__}: cannot read file"
        )
        return
    if isinstance(route, tuple):
        src.close()
        status, reason = route
        yield Document(display, media_type, status=status, reason=reason, size=size)
    elif route == "archive":
        yield from _container(src, display, media_type, limits, depth, budget)
    elif route in ("eml", "msg"):
        yield from _mail(src, display, media_type, limits, depth, budget, route)
    else:
        yield reader_document(src, display, media_type, limits, route)


def reader_document(
    src: Source,
    display: str,
    media_type: str,
    limits: Limits,
    reader: Callable[[Source, Context], Iterator[Block]],
) -> Document:
    """A Document whose blocks come from `reader`, on its own clock, with library errors converted."""
    ctx = Context(limits)
    blocks = _guarded(lambda: reader(src, ctx), ctx, src)
    return Document(display, media_type, blocks=blocks, size=src.size, notes=ctx.notes)


def _route(src: Source, mt: str):
    """A reader, "archive", "eml", "msg", or (status, reason) for what is not read."""
    suffix = src.suffix
    if mt == sniff.OCTET and suffix in _BY_SUFFIX:
        mt = _BY_SUFFIX[suffix]  # only to pick a reader: the document keeps libmagic's type
    if mt in _OLE:
        if _ole_encrypted(src):
            return (Status.ENCRYPTED, ENCRYPTED_OFFICE)
        if mt == "application/vnd.ms-excel" or suffix in (".xls", ".xlt"):
            return lambda s, c: excel.read_spreadsheet(s, c, sniff.XLS)
        if mt == "application/vnd.ms-outlook" or suffix == ".msg":
            return "msg"
        if mt in ("application/msword", "application/vnd.ms-powerpoint") or suffix in (
            ".doc",
            ".dot",
            ".ppt",
            ".pps",
            ".wps",
        ):
            return (Status.SKIPPED, LEGACY_OFFICE)
        return (Status.SKIPPED, f"no extractor for {mt}")
    if mt in _SPREADSHEETS:
        return images.with_embedded_images(lambda s, c: excel.read_spreadsheet(s, c, mt))
    if mt == "application/pdf":
        return pdf.read_pdf
    if mt == sniff.DOCX:
        return images.with_embedded_images(office.read_docx)
    if mt == sniff.PPTX:
        return images.with_embedded_images(office.read_pptx)
    if mt in images.IMAGE_TYPES:
        return images.read_image
    if mt in archive.ARCHIVE_TYPES:
        return "archive"
    if mt in _EMAIL or (mt == "text/plain" and suffix == ".eml"):
        return "eml"
    if mt in _RTF:
        return office.read_rtf
    if mt == columnar.PARQUET:
        return columnar.read_parquet
    if mt == columnar.AVRO:
        return columnar.read_avro
    if (
        mt.startswith("text/")
        or mt in text.STRUCTURED_TYPES
        or (mt == sniff.OCTET and suffix in _TEXT_SUFFIXES)
    ):
        return lambda s, c: text.read_text(s, c, mt)
    reader = plugins.plugins(plugins.EXTRACTORS).get(mt)
    if reader is not None:
        return lambda s, c: _plugin_blocks(reader, s, mt)
    return (Status.SKIPPED, f"no extractor for {mt}")


def _plugin_blocks(reader: Callable, src: Source, media_type: str) -> Iterator[Block]:
    """A reader from an installed package (entry point `dlpscan.extractors`, keyed by media type):
    `reader(stream, media_type)` yields TextBlock/TableBlock; limits and errors are handled here."""
    with src.open() as stream:
        for block in reader(stream, media_type):
            if not isinstance(block, TextBlock | TableBlock):
                raise ExtractError(f"extractor plugin for {media_type} yielded {type(block).__name__}")
            yield block


def _ole_encrypted(src: Source) -> bool:
    import msoffcrypto

    with src.open() as f:
        try:
            return bool(msoffcrypto.OfficeFile(f).is_encrypted())
        except Exception:  # not an Office file msoffcrypto knows (e.g. .msg), or damaged
            return False


def _guarded(make: Callable[[], Iterator[Block]], ctx: Context, src: Source) -> Iterator[Block]:
    """Run a reader lazily, on the document's clock, converting library errors to ExtractError."""
    clock = ctx.clock
    it: Iterator[Block] | None = None
    try:
        while True:
            clock.resume()
            try:
                if it is None:
                    it = make()
                block = next(it)
            except StopIteration:
                if ctx.failed_parts:  # after the readable parts: the pipeline reports `partial`
                    shown = ", ".join(ctx.failed_parts[:3]) + (" ..." if len(ctx.failed_parts) > 3 else "")
                    raise ExtractError(f"unreadable part(s) skipped: {shown}") from None
                return
            except ExtractError:
                raise
            except MemoryError:
                raise ExtractError("MemoryError: document too large to read") from None
            except RecursionError:
                raise LimitExceeded("structure nested too deeply") from None
            except Exception as e:
                raise ExtractError(f"{type(e).__name__}: cannot read document") from None
            except BaseException as e:
                if not excel.is_panic(e):
                    raise
                raise ExtractError("PanicException: cannot read document") from None
            finally:
                clock.pause()
            yield block
    finally:
        if it is not None and hasattr(it, "close"):
            it.close()
        src.close()


def _container(
    src: Source, display: str, media_type: str, limits: Limits, depth: int, budget: archive.Budget | None
) -> Iterator[Document]:
    if depth >= limits.max_nesting_depth:
        src.close()
        yield Document(
            display,
            media_type,
            status=Status.SKIPPED,
            reason="archive nesting deeper than limit",
            size=src.size,
            is_container=True,
        )
        return
    budget = budget or archive.Budget(limits, src.size)
    try:
        listing = archive.open_archive(src, media_type, budget)
    except Exception as e:  # defensive: archive libraries raise many kinds
        listing = archive.Listing(Status.ERROR, f"{type(e).__name__}: cannot read archive")
    yield Document(
        display, media_type, status=listing.status, reason=listing.reason, size=src.size, is_container=True
    )
    try:
        yield from _members(listing.members, display, limits, depth, budget)
    finally:
        src.close()


def _members(
    members: Iterator[archive.Member], display: str, limits: Limits, depth: int, budget: archive.Budget | None
) -> Iterator[Document]:
    while True:
        try:
            member = next(members)
        except StopIteration:
            return
        except Exception as e:  # a library failing between members: report it, stop this archive
            yield Document(
                f"{display}!",
                sniff.OCTET,
                status=Status.ERROR,
                reason=f"{type(e).__name__}: cannot list archive",
            )
            return
        path = f"{display}!{member.name}"
        if member.source is None:
            yield Document(path, sniff.OCTET, status=member.status, reason=member.reason, size=member.size)
        else:
            yield from documents_of(member.source, path, limits, depth + 1, budget)


def _mail(
    src: Source,
    display: str,
    media_type: str,
    limits: Limits,
    depth: int,
    budget: archive.Budget | None,
    kind: str,
) -> Iterator[Document]:
    ctx = Context(limits)
    reader = mail.read_eml if kind == "eml" else mail.read_msg
    try:
        ctx.clock.resume()
        blocks, members = reader(src, ctx)
    except ExtractError as e:
        yield Document(display, media_type, status=e.status, reason=str(e), size=src.size)
        return
    except Exception as e:  # defensive: mail libraries raise many kinds
        yield Document(
            display, media_type, status=Status.ERROR, reason=f"{type(e).__name__}: cannot read e-mail"
        )
        return
    finally:
        ctx.clock.pause()
        src.close()
    yield Document(
        display, media_type, blocks=_guarded(lambda: blocks, ctx, src), size=src.size, notes=ctx.notes
    )
    if depth + 1 > limits.max_nesting_depth and members:
        for m in members:
            yield Document(
                f"{display}!{m.name}", sniff.OCTET, status=Status.SKIPPED, reason="nesting deeper than limit"
            )
        return
    yield from _members(iter(members), display, limits, depth, budget)
