"""Where `dlpscan scan` writes its report and its summary, from --format, --output and -q.

In a terminal the report is a readable listing of flagged files followed by the summary; piped or
written to a file it is the JSON-lines contract. `-q` prints no report unless `--output -` asks.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from typing import IO, TYPE_CHECKING

from rich.console import Console

from dlpscan.sinks import ReportWriter, WriterOptions, report_formats

if TYPE_CHECKING:
    from dlpscan.entities import EntityTypes
    from dlpscan.runner import ScanSummary

TERMINAL_FORMATS = ("listing", "table")  # printed through rich, not one record per file
FORMAT_HELP = (
    "listing: flagged files, readable (default in a terminal); jsonl: the stable report contract "
    "(default when piped or written to a file); csv: one row per file; table: the summary only; "
    "or an output an installed plugin adds (entry points dlpscan.formats)."
)


def known_formats() -> list[str]:
    return [*report_formats(), *TERMINAL_FORMATS]


class ScanOutput:
    def __init__(self, fmt: str | None, output: str | None, quiet: bool, fingerprints: bool) -> None:
        self.path = output if output not in (None, "-") else None
        self.enabled = self.path is not None or output == "-" or not quiet
        if fmt is None:
            fmt = "listing" if self.path is None and sys.stdout.isatty() else "jsonl"
        self.fmt, self.quiet, self._fingerprints = fmt, quiet, fingerprints
        self.console: Console | None = None  # listing and table: the console they print on

    def open(self, stack: ExitStack, types: EntityTypes) -> list[ReportWriter]:
        """The report writers (none when quiet); the caller's `stack` closes the report file."""
        if not self.enabled:
            return []
        stream: IO[str] = sys.stdout
        if self.path is not None:
            stream = stack.enter_context(open(self.path, "w", encoding="utf-8"))  # noqa: SIM115 (closed by stack)
        if self.fmt in TERMINAL_FORMATS:
            # a file gets plain text as wide as a terminal; stdout follows the terminal (or 80 columns)
            self.console = Console(file=stream, width=120) if self.path else Console()
        if self.fmt == "listing":
            from dlpscan.listing import ListingWriter

            return [ListingWriter(self.console, types)]
        if self.fmt == "table":
            return []
        return [report_formats()[self.fmt](stream, WriterOptions(self._fingerprints, types))]

    @property
    def progress_console(self) -> Console | None:
        """The listing's console when it is a terminal: progress is drawn below the listing there."""
        return self.console if self.console is not None and self.console.is_terminal else None

    def finish(self, summary: ScanSummary, writers: list[ReportWriter]) -> None:
        """The summary: after the listing or as the table report; else on stderr in a terminal."""
        from dlpscan.listing import ListingWriter
        from dlpscan.ui import print_summary

        if self.console is not None:
            if any(isinstance(w, ListingWriter) and not w.listed for w in writers):
                self.console.print("No file flagged.")
            print_summary(summary, self.console)
        elif not self.quiet:
            print_summary(summary)
