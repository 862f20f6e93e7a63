"""Where results go: JSONL (the stable report contract), CSV, and outputs installed packages add.

`report_formats()` maps a `--format` name to a writer factory `factory(stream, options)`; a package
adds one through the entry point group `dlpscan.formats` (see docs/extending.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

from dlpscan import plugins
from dlpscan.sinks.files import CsvWriter, JsonlWriter, ReportWriter, WriterOptions

WriterFactory = Callable[[IO[str], WriterOptions], ReportWriter]

BUILTIN_FORMATS: dict[str, WriterFactory] = {
    "jsonl": lambda stream, options: JsonlWriter(stream, options.include_fingerprints),
    "csv": lambda stream, options: CsvWriter(stream, options.types),
}


def report_formats() -> dict[str, WriterFactory]:
    """Every `--format` that writes one record per file: built in, then installed plugins."""
    return plugins.with_plugins(plugins.FORMATS, BUILTIN_FORMATS)


__all__ = ["BUILTIN_FORMATS", "ReportWriter", "WriterFactory", "WriterOptions", "report_formats"]
