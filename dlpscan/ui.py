"""Terminal output: a live progress line while scanning, summary and exposure tables after."""

from __future__ import annotations

import time

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dlpscan.model import RuleHit
from dlpscan.runner import ScanSummary
from dlpscan.store import Exposure

_SEVERITIES = ("critical", "high", "medium", "low")


class ScanProgress:
    """files, MB, files/s and flagged so far on stderr (or on the terminal `console` a listing is
    printed to, so the listing scrolls above it); silent when that is not a terminal."""

    def __init__(self, enabled: bool = True, console: Console | None = None) -> None:
        self._console = console or Console(stderr=True)
        self._enabled = enabled and self._console.is_terminal
        self._status = None
        self._started = time.monotonic()
        self._last = 0.0

    @property
    def active(self) -> bool:
        return self._enabled

    def __enter__(self) -> ScanProgress:
        if self._enabled:
            self._status = self._console.status("starting workers…")
            self._status.start()
        return self

    def update(self, summary: ScanSummary, bytes_done: int) -> None:
        if self._status is None:
            return
        now = time.monotonic()
        if now - self._last < 0.2:
            return
        self._last = now
        elapsed = max(now - self._started, 1e-6)
        rate = summary.files / elapsed
        self._status.update(
            f"{summary.files:,}{_of(summary.total_files)} files · {bytes_done / 1e6:,.1f} MB · "
            f"{rate:,.1f} files/s · [bold red]{summary.flagged:,} flagged[/] · "
            f"{summary.unchanged:,} unchanged{_eta(summary, bytes_done, elapsed)}"
        )

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.stop()


def _of(total: int | None) -> str:
    return f"/{total:,}" if total is not None else ""


def _eta(summary: ScanSummary, bytes_done: int, elapsed: float) -> str:
    """Remaining time from the byte rate so far, once the background count is known."""
    if summary.total_bytes is None or bytes_done <= 0 or elapsed < 5:
        return ""  # the first seconds (worker start-up) say nothing about the rate
    left = max(summary.total_bytes - bytes_done, 0) * elapsed / bytes_done
    minutes, seconds = divmod(int(left), 60)
    return f" · ETA {minutes // 60:d}:{minutes % 60:02d}:{seconds:02d}"


def print_summary(summary: ScanSummary, console: Console | None = None) -> None:
    """On `console`, or on stderr when that is a terminal."""
    if console is None:
        console = Console(stderr=True)
        if not console.is_terminal:
            return
    table = Table(title=f"dlpscan: scan {summary.scan_id or '(not stored)'}", show_header=False)
    table.add_row("files", f"{summary.files:,} ({summary.unchanged:,} unchanged, not re-read)")
    if summary.edm_refreshed:
        again = f"{summary.edm_refreshed:,} unchanged files matched again with the rebuilt index"
        table.add_row("EDM", again)
    table.add_row("data", f"{summary.bytes / 1e6:,.1f} MB in {summary.seconds:,.1f} s")
    table.add_row("status", ", ".join(f"{k} {v:,}" for k, v in sorted(summary.statuses.items())))
    flagged = ", ".join(f"{s} {summary.severities[s]:,}" for s in _SEVERITIES if summary.severities[s])
    table.add_row("flagged", f"[bold red]{summary.flagged:,}[/] ({flagged or 'none'})")
    if summary.interrupted:
        table.add_row("interrupted", "yes: rerun with --resume to continue")
    console.print(table)


def print_exposure(
    by: str, rows: list[Exposure], hits: dict[str, list[RuleHit]], console: Console | None = None
) -> None:
    """Long folder paths wrap within their column instead of being cut to its width."""
    table = Table(
        title=f"Cumulative exposure by {by}",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column(by, overflow="fold", min_width=16)
    for col in ("files", "flagged", "people"):
        table.add_column(col, justify="right", no_wrap=True)
    edm = any(r.edm_rows for r in rows)
    if edm:
        table.add_column("customers (EDM)", justify="right", no_wrap=True)
    table.add_column("distinct by type", overflow="fold")
    table.add_column("categories (people / records)", overflow="fold")
    table.add_column("policy rules", overflow="fold")
    for r in rows:
        types = "\n".join(f"{t} {n:,}" for t, n in sorted(r.per_type.items(), key=lambda kv: -kv[1]))
        categories = "\n".join(
            f"{c} {people:,} / {records:,}" for c, (people, records) in r.categories.items() if c != "any"
        )
        rules = "\n".join(f"{h.rule} ({h.severity})" for h in hits.get(r.key, []))
        counts = [f"{r.files:,}", f"{r.flagged_files:,}", f"{r.people:,}"]
        if edm:
            counts.append(f"{r.edm_rows:,} ({r.edm_high:,} high)")
        table.add_row(Text(r.key), *counts, types, categories, rules)
    (console or Console()).print(table)


def print_category_exposure(rows: list[tuple[str, int, int, int]], console: Console | None = None) -> None:
    """`db exposure --by category`: distinct people and records of each legal data category."""
    table = Table(
        title="Cumulative exposure by legal data category",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("category", no_wrap=True)
    for col in ("files", "people", "records"):
        table.add_column(col, justify="right", no_wrap=True)
    for name, n_files, people, records in rows:
        table.add_row(name, f"{n_files:,}", f"{people:,}", f"{records:,}")
    (console or Console()).print(table)


def print_scans(scans: list[dict], console: Console | None = None) -> None:
    """`db scans`: newest first, with what each found."""
    table = Table(
        title="Scans and watch sessions, newest first",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("roots", overflow="fold", min_width=12)
    table.add_column("started")
    table.add_column("status")
    for col in ("files", "flagged", "people"):
        table.add_column(col, justify="right", no_wrap=True)
    table.add_column("policy", overflow="fold")
    for s in scans:
        stats = s["stats"] or {}
        table.add_row(
            str(s["id"]),
            Text("\n".join(s["roots"])),
            time.strftime("%Y-%m-%d %H:%M", time.localtime(s["started"])),
            s["status"]
            if s["kind"] == "scan"
            else f"watch, {'running' if s['status'] == 'running' else 'ended'}",
            _count(stats.get("files")),
            _count(stats.get("flagged")),
            _count(s["people"]),
            Text(s["policy"]),
        )
    (console or Console()).print(table)


def _count(n: int | None) -> str:
    return "–" if n is None else f"{n:,}"
