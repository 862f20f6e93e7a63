"""Findings a person can read in a terminal: one block per file, while `scan` runs and for `db files`.

Counts, masked samples and locations only, never a raw value or a fingerprint.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from dlpscan.entities import EntityTypes
from dlpscan.findings import confidence, pick_samples, ranked_types, shown_locations
from dlpscan.model import CategoryStats, FileResult, Status

SEVERITY_STYLE = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "bold yellow",
    "low": "cyan",
    "none": "dim",
}
LOCATIONS_SHOWN = 3
_NUMBERED = re.compile(r"(.*?)(\d+)")


def people(result: FileResult, types: EntityTypes) -> int:
    """Distinct people, a lower bound: the largest distinct count among the person-key types."""
    return types.people({t: s.distinct for t, s in result.entities.items()})


def severity_text(severity: str) -> Text:
    return Text(f" {severity.upper()} ", style=SEVERITY_STYLE.get(severity, ""))


def rules_text(result: FileResult) -> str:
    """The rules that set the file's severity, and how many lesser ones also hit."""
    deciding = [r for r in result.rules if r.severity == result.severity] or result.rules[:1]
    text = ", ".join(r.rule for r in deciding) or "–"
    lesser = len(result.rules) - len(deciding)
    return text + (f" (+{lesser} lesser)" if lesser else "")


def where(locations: list[str]) -> str:
    """The first locations, those that differ only in their last number folded together:
    `sheet 运单 row 2, 3, 4 …`."""
    groups: list[tuple[str, list[str]]] = []
    for location in locations[:LOCATIONS_SHOWN]:
        m = _NUMBERED.fullmatch(location)
        if m and groups and groups[-1][0] == m.group(1) and groups[-1][1]:
            groups[-1][1].append(m.group(2))
        else:
            groups.append((m.group(1), [m.group(2)]) if m else (location, []))
    shown = ", ".join(prefix + ", ".join(numbers) for prefix, numbers in groups)
    return shown + (" …" if len(locations) > LOCATIONS_SHOWN else "")


def file_block(result: FileResult, path: str, types: EntityTypes) -> RenderableType:
    """One file: severity and path; people, records and the deciding rule (or why it was not read);
    then per entity type, most distinct first: distinct (total), confidence, a masked sample, where."""
    head = Text.assemble(severity_text(result.severity), " ", Text(path, style="bold"))
    n = people(result, types)
    facts = (
        f"{n:,} {'person' if n == 1 else 'people'} · {result.records:,} records · rule {rules_text(result)}"
    )
    if result.edm is not None and result.edm.matched:
        e = result.edm
        facts += f" · {e.matched:,} customers of {e.index} ({e.high:,} high, {e.medium:,} medium)"
    if result.status is not Status.SCANNED:
        facts = f"{result.status}: {result.reason or result.error or 'not read'} · " + facts
    samples = dict(pick_samples(result, len(result.entities), types))
    lines = Table.grid(padding=(0, 2))
    lines.add_column(no_wrap=True)
    lines.add_column(justify="right", no_wrap=True)
    lines.add_column(no_wrap=True)
    lines.add_column(no_wrap=True)
    lines.add_column(overflow="fold")
    for etype, stats in ranked_types(result, types):
        lines.add_row(
            Text(etype),
            Text(f"{stats.distinct:,}" + (f" ({stats.total:,})" if stats.total != stats.distinct else "")),
            Text(f"{confidence(stats)} confidence"),
            Text(samples.get(etype, "")),
            Text(where(shown_locations(stats))),
        )
    parts = [head, _indent(Text(facts, style="dim"))]
    parts += [_indent(Text(category_line(name, c), style="dim")) for name, c in result.categories.items()]
    return Group(*parts, _indent(lines), Text("")) if result.entities else Group(*parts, Text(""))


def category_line(name: str, c: CategoryStats) -> str:
    """`lodging: 600 people · 600 records (601 rows) · header:rzsj, header:fjbh`: a legal data
    category and what decided it (vocabulary words and pattern names, never values)."""
    rows = f" ({c.rows:,} rows)" if c.rows != c.records else ""
    basis = f" · {', '.join(c.basis)}" if c.basis else ""
    who = "person" if c.people == 1 else "people"
    return f"{name}: {c.people:,} {who} · {c.records:,} records{rows}{basis}"


def _indent(renderable: RenderableType) -> RenderableType:
    grid = Table.grid()
    grid.add_column(width=3)
    grid.add_column()
    grid.add_row("", renderable)
    return grid


class ListingWriter:
    """A report writer that prints each flagged file as its result arrives (archive members too)."""

    def __init__(self, console: Console, types: EntityTypes, display: Callable[[str], str] = str) -> None:
        self.console, self._types, self._display = console, types, display
        self.listed = 0

    def write(self, result: FileResult) -> None:
        if result.flagged and not result.is_container:
            self.console.print(file_block(result, self._display(result.path), self._types))
            self.listed += 1
