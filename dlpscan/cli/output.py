"""Where `dlpscan scan` writes its report and its summary, from --format, --output and -q.

In a terminal the report is a readable listing of flagged files followed by the summary; piped or
written to a file it is the JSON-lines contract. `-q` prints no report unless `--output -` asks.
With a baseline (--new-only, --since-scan) only files whose findings are new or grew are reported.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from typing import IO, TYPE_CHECKING

from rich.console import Console

from dlpscan.cli.common import UsageProblem
from dlpscan.sinks import ReportWriter, WriterOptions, report_formats
from dlpscan.sinks.baseline import Baseline, NewOnlyWriter
from dlpscan.walk import report_to_key, root_key

if TYPE_CHECKING:
    from dlpscan.entities import EntityTypes
    from dlpscan.listing import ListingWriter
    from dlpscan.policy import Policy
    from dlpscan.runner import ScanSummary
    from dlpscan.sinks.sarif import SarifWriter
    from dlpscan.store import Store

TERMINAL_FORMATS = ("listing", "table")  # printed through rich, not one record per file
FORMAT_HELP = (
    "listing: flagged files, readable (default in a terminal); jsonl: the stable report contract "
    "(default when piped or written to a file); csv: one row per file; sarif: SARIF 2.1.0 for "
    "code-scanning dashboards; table: the summary only; or an output an installed plugin adds "
    "(entry points dlpscan.formats)."
)


def known_formats() -> list[str]:
    return [*report_formats(), "sarif", *TERMINAL_FORMATS]


class ScanOutput:
    def __init__(
        self,
        fmt: str | None,
        output: str | None,
        quiet: bool,
        fingerprints: bool,
        baseline: tuple[bool, int | None] = (False, None),
    ) -> None:
        """`baseline`: (--new-only, --since-scan N)."""
        self.path = output if output not in (None, "-") else None
        self.enabled = self.path is not None or output == "-" or not quiet
        if fmt is None:
            fmt = "listing" if self.path is None and sys.stdout.isatty() else "jsonl"
        self.fmt, self.quiet, self._fingerprints = fmt, quiet, fingerprints
        self._new_only, self._since_scan = baseline
        self.console: Console | None = None  # listing and table: the console they print on
        self.baseline: Baseline | None = None
        self._sarif: SarifWriter | None = None
        self._listing: ListingWriter | None = None

    def open(
        self, stack: ExitStack, types: EntityTypes, policy: Policy, store: Store | None, roots: list[str]
    ) -> list[ReportWriter]:
        """The report writers (none when quiet); the caller's `stack` closes the report file."""
        if self._new_only or self._since_scan is not None:
            self.baseline = Baseline(
                store, choose_baseline(store, roots, self._since_scan), report_to_key(roots)
            )
        writers = self._writers(stack, types, policy) if self.enabled else []
        # with a baseline every result is compared, even when nothing is printed (for --fail-on-flag)
        return [NewOnlyWriter(writers, self.baseline)] if self.baseline is not None else writers

    def flagged(self, summary: ScanSummary) -> int:
        """Flagged files for --fail-on-flag: with a baseline, those with new or more findings."""
        return self.baseline.flagged if self.baseline is not None else summary.flagged

    def _writers(self, stack: ExitStack, types: EntityTypes, policy: Policy) -> list[ReportWriter]:
        stream: IO[str] = sys.stdout
        if self.path is not None:
            stream = stack.enter_context(open(self.path, "w", encoding="utf-8"))  # noqa: SIM115 (closed by stack)
        if self.fmt in TERMINAL_FORMATS:
            # a file gets plain text as wide as a terminal; stdout follows the terminal (or 80 columns)
            self.console = Console(file=stream, width=120) if self.path else Console()
        if self.fmt == "listing":
            from dlpscan.listing import ListingWriter

            self._listing = ListingWriter(self.console, types)
            return [self._listing]
        if self.fmt == "table":
            return []
        if self.fmt == "sarif":
            from dlpscan.sinks.sarif import SarifWriter

            state = self.baseline.state if self.baseline is not None else None
            self._sarif = SarifWriter(stream, types, policy, state)
            return [self._sarif]
        return [report_formats()[self.fmt](stream, WriterOptions(self._fingerprints, types))]

    @property
    def progress_console(self) -> Console | None:
        """The listing's console when it is a terminal: progress is drawn below the listing there."""
        return self.console if self.console is not None and self.console.is_terminal else None

    def finish(self, summary: ScanSummary) -> None:
        """The SARIF log; the summary after the listing or as the table report, else on stderr in a
        terminal; how many files the baseline let through."""
        from dlpscan.ui import print_summary

        if self._sarif is not None:
            self._sarif.close(ok=not summary.interrupted and not summary.store_error)
        if self._listing is not None and not self._listing.listed:
            self._listing.console.print(
                "No file flagged." if self.baseline is None else "No flagged file with new findings."
            )
        if self.console is not None:
            print_summary(summary, self.console)
        elif not self.quiet:
            print_summary(summary)
        if self.baseline is not None and not self.quiet:
            b = self.baseline
            since = f"than scan {b.scan_id}" if b.scan_id is not None else "(no earlier scan of these paths)"
            note = f"files with new or more findings {since}: {b.reported:,}; the others are not reported"
            (self.console or Console(stderr=True)).print(note, style="dim")


def choose_baseline(store: Store | None, roots: list[str], since_scan: int | None) -> int | None:
    """Scan `since_scan`, or the latest completed scan of the same roots (None: there is none yet,
    so every finding is new)."""
    if store is None:
        raise UsageProblem("--new-only and --since-scan compare with the results store: drop --no-store")
    scans = store.scans()
    if since_scan is not None:
        if not any(s["id"] == since_scan for s in scans):
            raise UsageProblem(f"no scan with id {since_scan} in the store (see `dlpscan db scans`)")
        return since_scan
    wanted = {tuple(sorted(roots)), tuple(sorted(root_key(r) for r in roots))}
    for s in scans:  # newest first
        if s["kind"] == "scan" and s["status"] == "completed" and tuple(sorted(s["roots"])) in wanted:
            return s["id"]
    return None
