"""CSV and XLSX exports: one row per file of the scan, for the auditor's own analysis.

Column names are stable English identifiers; notes are in the report language. Rows are written
while the store is read, so 100,000 files never sit in memory. Cells are protected against
spreadsheet formula injection (file names are attacker-controlled).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from .collect import FileRow, GroupRow, ReportData
from .i18n import translator
from .legal import Grading, note_text

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_ROWS = 1_048_576


def iso(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts).astimezone().isoformat(timespec="seconds")


class FileTable:
    """The columns of the per-file table and how a FileRow fills them."""

    def __init__(self, entity_types: Iterable[str], lang: str) -> None:
        self.types = list(dict.fromkeys(entity_types))
        self.lang = lang
        self.columns = [
            "path", "folder", "owner", "size_bytes", "modified", "status", "reason", "media_type",
            "archive", "flagged", "false_positive", "finding", "severity", "rules", "records", "people",
            *(f"{t}_distinct" for t in self.types), "other_types", "masked_samples",
            "judicial_2017_level", "judicial_2017_weighted_sum", "judicial_2017_rules",
            "judicial_2017_categories", "legal_notes",
            "triage_status", "triage_note", "triage_who", "triage_at", "triage_applies",
            "confidence", "locations", "edm_customers", "edm_customers_high",
        ]  # fmt: skip

    def values(self, row: FileRow) -> list[Any]:
        distinct = {t: d for t, d, _ in row.types}
        triage = row.triage or {}
        return [
            row.path,
            row.folder,
            row.owner or "",
            row.size,
            iso(row.mtime),
            row.status,
            row.reason or "",
            row.media_type,
            row.is_container,
            row.flagged,
            row.false_positive,
            row.finding,
            row.severity,
            "; ".join(f"{h.rule} ({h.severity})" for h in row.rules),
            row.records,
            row.people,
            *(distinct.get(t, 0) for t in self.types),
            "; ".join(f"{t}={d}/{n}" for t, d, n in row.types if t not in self.types),
            "; ".join(s for _, s in row.samples),
            row.grading.level,
            round(float(row.grading.total), 4),
            "; ".join(row.grading.rules),
            grading_terms(row.grading),
            "\n".join(note_text(n, self.lang, prefixed=True) for n in row.notes),
            triage.get("status", ""),
            triage.get("note", ""),
            triage.get("who", ""),
            iso(triage.get("at")),
            triage.get("applies", ""),
            "; ".join(f"{t}: {conf}" for t, conf, _ in row.where),
            "; ".join(f"{t}: {', '.join(locs)}" for t, _, locs in row.where if locs),
            "" if row.edm is None else row.edm[0] + row.edm[1],  # empty: scanned without an EDM index
            "" if row.edm is None else row.edm[0],
        ]


class CsvExport:
    """UTF-8 with a byte-order mark, so spreadsheet programs read Chinese paths correctly."""

    def __init__(self, output: Path, table: FileTable) -> None:
        self.table = table
        self._file = open(output, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed in finish()
        self._writer = csv.writer(self._file)
        self._writer.writerow(table.columns)

    def add(self, row: FileRow) -> None:
        self._writer.writerow([_csv_safe(v) for v in self.table.values(row)])

    def finish(self, data: ReportData | None) -> None:
        self._file.close()


class XlsxExport:
    """Files (split over more sheets past Excel's row limit), then folders, owners, scans and scope."""

    def __init__(self, output: Path, table: FileTable) -> None:
        self.output = output
        self.table = table
        self.book = Workbook(write_only=True)
        self._sheets = 0
        self._rows = 0
        self._sheet = self._new_files_sheet()

    def _new_files_sheet(self) -> WriteOnlyWorksheet:
        self._sheets += 1
        sheet = self.book.create_sheet("Files" if self._sheets == 1 else f"Files ({self._sheets})")
        sheet.freeze_panes = "B2"
        _append(sheet, self.table.columns)
        self._rows = 1
        return sheet

    def add(self, row: FileRow) -> None:
        if self._rows >= XLSX_MAX_ROWS:
            self._sheet = self._new_files_sheet()
        _append(self._sheet, self.table.values(row))
        self._rows += 1

    def finish(self, data: ReportData | None) -> None:
        if data is not None:
            t = translator(self.table.lang)
            for name, groups in (("Folders", data.folders), ("Owners", data.owners)):
                self._groups(name, groups, t)
            self._scans(data)
            self._scope(data)
        self.book.save(self.output)

    def _groups(self, name: str, groups: list[GroupRow], t: Callable[..., str]) -> None:
        sheet = self.book.create_sheet(name)
        _append(
            sheet,
            ["key", "files", "flagged", "people", *(f"{t_}_distinct" for t_ in self.table.types),
             "policy_rules", "judicial_2017_level", "judicial_2017_weighted_sum", "judicial_2017_rules",
             "judicial_2017_categories", "legal_notes"],
        )  # fmt: skip
        for g in groups:
            _append(
                sheet,
                [g.key, g.files, g.flagged, g.people, *(g.per_type.get(x, 0) for x in self.table.types),
                 "; ".join(f"{h.rule} ({h.severity})" for h in g.hits), g.grading.level,
                 round(float(g.grading.total), 4), "; ".join(g.grading.rules), grading_terms(g.grading),
                 "\n".join(note_text(n, self.table.lang, prefixed=True) for n in g.notes)],
            )  # fmt: skip

    def _scans(self, data: ReportData) -> None:
        sheet = self.book.create_sheet("Scans")
        sevs = ("critical", "high", "medium", "low")
        _append(sheet, ["scan_id", "kind", "started", "finished", "status", "items", "flagged", *sevs,
                        "bytes", "records", "people"])  # fmt: skip
        for h in data.history:
            _append(
                sheet,
                [h["scan_id"], h["kind"], iso(h["started"]), iso(h["finished"]), h["status"], h["files"],
                 h["flagged"], *(h["flagged_by_severity"].get(s, 0) for s in sevs), h["bytes"],
                 h["records"], h["people"]],
            )  # fmt: skip

    def _scope(self, data: ReportData) -> None:
        sheet = self.book.create_sheet("Scope")
        for key, value in scope_items(data):
            _append(sheet, [key, value])


def scope_items(data: ReportData) -> list[tuple[str, Any]]:
    """Key facts of the scope, for the XLSX scope sheet."""
    return [
        ("roots", "; ".join(data.roots)),
        ("scan_id", data.scan["id"]),
        ("scan_status", data.scan["status"]),
        ("watch_sessions", "; ".join(f"#{x['id']}" for x in data.sessions) or "none"),
        ("started", iso(data.scan["started"])),
        ("finished", iso(data.scan["finished"])),
        ("window_start", iso(data.window[0])),
        ("window_end", iso(data.window[1])),
        ("files_scanned", data.files_scanned),
        ("items", data.items),
        ("bytes_scanned", data.bytes_scanned),
        ("findings", len(data.findings)),
        ("marked_false_positive", len(data.false_positives)),
        ("distinct_people", data.people),
        ("not_read", sum(data.gap_counts.values())),
        *((f"version_{k}", v) for k, v in data.versions.items()),
        ("policy", f"{data.policy.name} {data.policy.version}"),
        ("judicial_policy", f"{data.judicial.name} {data.judicial.version}"),
        ("generated", iso(data.generated)),
    ]


def _csv_safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _append(sheet: WriteOnlyWorksheet, values: list[Any]) -> None:
    """Strings are always text (never formulas) and lose characters XLSX cannot hold."""
    cells = []
    for v in values:
        if v == "":
            v = None  # an empty cell costs nothing in write-only mode
        elif isinstance(v, str):
            v = ILLEGAL_CHARACTERS_RE.sub("?", v)
            if v.startswith(FORMULA_START):
                cell = WriteOnlyCell(sheet, v)
                cell.data_type = "s"
                v = cell
        cells.append(v)
    sheet.append(cells)


def grading_terms(grading: Grading) -> str:
    """`lodging 600/500 (header:rzsj, header:fjbh); other 12/5000`: each term's count / threshold
    and, for a legal data category, what decided it."""
    return "; ".join(
        f"{c.name} {c.count}/{c.threshold}" + (f" ({', '.join(c.basis)})" if c.basis else "")
        for c in grading.categories
    )
