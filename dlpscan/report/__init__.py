"""Compliance reports from the results store: HTML (self-contained), PDF, CSV and XLSX.

`write_report(store, "html", Path("audit.html"), Options())` reads the latest completed scan (or
the one asked for), maps it onto 法释〔2017〕10号, PIPL and industry standards, and writes the file.
Reports carry counts and masked samples only: never raw values, never fingerprints.
"""

from __future__ import annotations

import os
from pathlib import Path

from dlpscan.store import Store

from .collect import Options, ReportData, ReportError, collect
from .i18n import LANGUAGES
from .render import PDF_ROWS, render_html, write_pdf
from .tables import CsvExport, FileTable, XlsxExport

FORMATS = ("html", "pdf", "csv", "xlsx")

__all__ = ["FORMATS", "LANGUAGES", "Options", "ReportData", "ReportError", "collect", "write_report"]


def write_report(
    store: Store,
    fmt: str,
    output: Path,
    options: Options,
    lang: str = "en",
    pdf_rows: int | None = PDF_ROWS,
) -> ReportData:
    """Write one report file and return what it was made from (for summaries and tests).

    `pdf_rows` caps the per-file tables of the PDF (None: all rows). The file appears complete or
    not at all: it is written next to `output` and renamed.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    output = Path(output)
    partial = output.with_name(f".{output.name}.part")
    try:
        data = _write(store, fmt, partial, options, lang, pdf_rows)
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    return data


def _write(
    store: Store, fmt: str, output: Path, options: Options, lang: str, pdf_rows: int | None
) -> ReportData:
    if fmt in ("csv", "xlsx"):
        types = list(store.types)
        export = (CsvExport if fmt == "csv" else XlsxExport)(output, FileTable(types, lang))
        data = None
        try:
            data = collect(store, options, on_row=export.add)
        finally:
            export.finish(data)
        return data
    data = collect(store, options)
    if fmt == "html":
        output.write_text(render_html(data, lang), encoding="utf-8")
    else:
        write_pdf(data, output, lang, pdf_rows)
    return data
