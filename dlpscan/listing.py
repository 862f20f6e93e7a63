"""Findings a person can read in a terminal: a block per flagged file while `scan` runs, a table for
`db files`. Counts, masked samples and locations only, never a raw value or a fingerprint."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from dlpscan.entities import EntityTypes
from dlpscan.findings import confidence, pick_samples, ranked_types, shown_locations
from dlpscan.model import EntityStats, FileResult

SEVERITY_STYLE = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "bold yellow",
    "low": "cyan",
    "none": "dim",
}
LOCATIONS_SHOWN = 3


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
    shown = ", ".join(locations[:LOCATIONS_SHOWN])
    return shown + (" …" if len(locations) > LOCATIONS_SHOWN else "")


def file_block(result: FileResult, path: str, types: EntityTypes) -> RenderableType:
    """One flagged file: severity and path, then one line per entity type, most distinct first."""
    head = Text.assemble(severity_text(result.severity), " ", Text(path, style="bold"))
    facts = Text(
        f"{people(result, types):,} people · {result.records:,} records · rule {rules_text(result)}",
        style="dim",
    )
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
    return Group(head, _indent(facts), _indent(lines), Text(""))


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


def files_table(results: Iterable[FileResult], title: str, types: EntityTypes) -> Table:
    """`db files`: one row per file; per type: distinct values, confidence, a masked sample, where."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("severity", no_wrap=True)
    table.add_column("path", overflow="fold", min_width=16)
    table.add_column("people", justify="right", no_wrap=True)
    table.add_column("found: type, distinct, confidence, sample (where)", overflow="fold", min_width=24)
    table.add_column("rule", overflow="fold", min_width=12)
    for r in results:
        path = Text(r.path)
        if r.reason or r.error:
            path.append(f"\n{r.reason or r.error}", style="dim")
        samples = dict(pick_samples(r, len(r.entities), types))
        table.add_row(
            severity_text(r.severity),
            path,
            Text(f"{people(r, types):,}"),
            Text("\n".join(_type_line(t, s, samples.get(t, "")) for t, s in ranked_types(r, types)) or "–"),
            Text(rules_text(r)),
        )
    return table


def _type_line(etype: str, stats: EntityStats, sample: str) -> str:
    locations = where(shown_locations(stats))
    line = f"{etype} {stats.distinct:,} {confidence(stats)} {sample}".rstrip()
    return line + (f" ({locations})" if locations else "")
