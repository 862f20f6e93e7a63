"""Fuzz targets: one per reader and one for the detection engine, all through the real pipeline.

`run(kind, data)` reads `data` with the reader `kind` stands for (the media type is forced, so a
mutated file still reaches its reader), scans every document with the real engine, aggregation
and policy, and raises `Failure` when the pipeline's contract is broken:

- `exception`: an exception escaped the pipeline, or the pipeline had to report an internal error;
- `memory`: a reader ran out of memory (MemoryError) instead of stopping at a limit;
- `stdout`: something was printed to stdout (it would corrupt a JSON-lines report);
- `slow`: CPU time above the per-byte budget (checked by the caller, see `Budget`).
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache

from dlpscan.extract import columnar, documents, excel, office, pdf, text
from dlpscan.extract.limits import Limits
from dlpscan.extract.source import BytesSource
from dlpscan.model import Document, FileResult, Status, TextBlock
from dlpscan.pipeline import FileScanner, ScanSettings

# Small limits, so a fuzz input that hits one costs little; the shape of each check is the same.
FUZZ_LIMITS = Limits(
    max_file_bytes=64 * 1024**2,
    max_archive_total_bytes=64 * 1024**2,
    max_member_bytes=32 * 1024**2,
    ratio_min_bytes=1024**2,
    max_decode_seconds=30.0,
    max_tree_bytes=8 * 1024**2,
    max_cells_per_sheet=2_000_000,
)

Reader = Callable[..., Iterator]


def _spreadsheet(media_type: str, engine: str | None) -> Reader:
    return lambda src, ctx: excel.read_spreadsheet(src, ctx, media_type, engine)


def _text(media_type: str) -> Reader:
    return lambda src, ctx: text.read_text(src, ctx, media_type)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLS = "application/vnd.ms-excel"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
XLSB = "application/vnd.ms-excel.sheet.binary.macroEnabled.12"

# kind -> (file name, media type, reader or None to route by media type as the scanner does)
TARGETS: dict[str, tuple[str, str, Reader | None]] = {
    "csv": ("t.csv", "text/csv", _text("text/csv")),
    "tsv": ("t.tsv", "text/tab-separated-values", _text("text/tab-separated-values")),
    "text": ("t.txt", "text/plain", _text("text/plain")),
    "json": ("t.json", "application/json", _text("application/json")),
    "xml": ("t.xml", "text/xml", _text("text/xml")),
    "html": ("t.html", "text/html", _text("text/html")),
    "sql": ("t.sql", "application/sql", _text("application/sql")),
    "rtf": ("t.rtf", "text/rtf", office.read_rtf),
    "xlsx": ("t.xlsx", XLSX, _spreadsheet(XLSX, None)),
    "xlsx_openpyxl": ("t.xlsx", XLSX, _spreadsheet(XLSX, "openpyxl")),
    "xlsx_sparse": ("t.xlsx", XLSX, _spreadsheet(XLSX, "sparse")),
    "ods": ("t.ods", ODS, _spreadsheet(ODS, None)),
    "ods_sparse": ("t.ods", ODS, _spreadsheet(ODS, "sparse")),
    "xlsb": ("t.xlsb", XLSB, _spreadsheet(XLSB, None)),
    "xlsb_sparse": ("t.xlsb", XLSB, _spreadsheet(XLSB, "sparse")),
    "xls": ("t.xls", XLS, _spreadsheet(XLS, None)),
    "xls_xlrd": ("t.xls", XLS, _spreadsheet(XLS, "xlrd")),
    "docx": (
        "t.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        office.read_docx,
    ),
    "pptx": (
        "t.pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        office.read_pptx,
    ),
    "pdf": ("t.pdf", "application/pdf", pdf.read_pdf),
    "eml": ("t.eml", "message/rfc822", None),
    "msg": ("t.msg", "application/vnd.ms-outlook", None),
    "zip": ("t.zip", "application/zip", None),
    "tar": ("t.tar.gz", "application/gzip", None),
    "gz": ("t.csv.gz", "application/gzip", None),
    "7z": ("t.7z", "application/x-7z-compressed", None),
    "hive": ("000000_0", "text/plain", _text("text/plain")),
    "fixedwidth": ("t.dat", "text/plain", _text("text/plain")),
    "parquet": ("t.parquet", columnar.PARQUET, columnar.read_parquet),
    "avro": ("t.avro", columnar.AVRO, columnar.read_avro),
    "octet": ("blob", "", None),  # sniffed as the scanner does: octet-stream that may be text
    "detect": ("", "", None),
}
KINDS = tuple(TARGETS)


class Failure(Exception):
    """The pipeline's contract broke on one input. `kind` is the failure class."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


@cache
def scanner() -> FileScanner:
    return FileScanner(ScanSettings(key=b"fuzz", limits=FUZZ_LIMITS))


def documents_for(kind: str, data: bytes) -> Iterator[Document]:
    name, media_type, reader = TARGETS[kind]
    src = BytesSource(data, name)
    if reader is not None:
        yield documents.reader_document(src, name, media_type, FUZZ_LIMITS, reader)
    else:
        yield from documents.documents_of(src, name, FUZZ_LIMITS, 0, None, media_type or None)


def scan(kind: str, data: bytes) -> list[FileResult]:
    """The pipeline over one input, as a worker runs it (raises only when the pipeline itself fails)."""
    s = scanner()
    if kind == "detect":
        return [_detect(s, data)]
    return [s.scan_document(doc) for doc in documents_for(kind, data)]


def _detect(s: FileScanner, data: bytes) -> FileResult:
    """The engine on its own: the input as text, and as a table of tab-separated cells."""
    from dlpscan.model import TableBlock

    text_ = data.decode("utf-8", "replace")
    lines = text_.split("\n")
    header = tuple(lines[0].split("\t")) if lines else ()
    rows = [tuple(line.split("\t")) for line in lines[1:]]
    doc = Document("t", "text/plain", blocks=iter([TextBlock(text_), TableBlock(header, rows)]))
    return s.scan_document(doc)


def run(kind: str, data: bytes) -> list[FileResult]:
    """Scan one input; raise Failure on an escaped exception, a memory error or stdout output."""
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            results = scan(kind, data)
    except Failure:
        raise
    except MemoryError:
        raise Failure("memory", "MemoryError escaped the pipeline") from None
    except BaseException as e:
        if isinstance(e, KeyboardInterrupt | SystemExit):
            raise
        raise Failure("exception", f"{type(e).__name__} escaped the pipeline") from e
    if out.getvalue():
        raise Failure("stdout", f"{len(out.getvalue())} characters printed to stdout")
    for r in results:
        problem = r.error or r.reason or ""
        if "internal error" in problem:
            raise Failure("exception", f"{r.path}: {problem}")
        if "MemoryError" in problem or "memory limit" in problem:
            raise Failure("memory", f"{r.path}: {problem}")
        if r.status is Status.ERROR and "Panic" in problem:
            raise Failure("exception", f"{r.path}: {problem}")
    return results


@dataclass(frozen=True, slots=True)
class Budget:
    """CPU seconds allowed for one input: a fixed start-up allowance plus a cost per byte.

    The per-byte cost is far above what any reader needs on ordinary files (see bench/README.md:
    the slowest, pdf tables, read about 1 MB/s), so only super-linear paths exceed it.
    """

    base_seconds: float = 2.0
    seconds_per_byte: float = 20e-6  # 50 KB/s

    def allows(self, size: int, seconds: float) -> bool:
        return seconds <= self.base_seconds + self.seconds_per_byte * size


def timed_run(kind: str, data: bytes, budget: Budget = Budget()) -> float:
    """`run` plus the per-byte budget; returns the CPU seconds used."""
    t0 = time.process_time()
    run(kind, data)
    spent = time.process_time() - t0
    if not budget.allows(len(data), spent):
        raise Failure("slow", f"{spent:.2f} s CPU for {len(data)} bytes")
    return spent
