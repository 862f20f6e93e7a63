"""Report writers: JSON Lines (the stable contract) and CSV (one row per file, for spreadsheets)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, Protocol

from dlpscan.entities import EntityTypes
from dlpscan.model import FileResult
from dlpscan.sinks.report_line import report_line


class ReportWriter(Protocol):
    """Receives every file's result as the scan produces it (plugins implement the same)."""

    def write(self, result: FileResult) -> None: ...


@dataclass(frozen=True, slots=True)
class WriterOptions:
    """What a report writer may need besides its stream."""

    include_fingerprints: bool  # a fingerprint key was given explicitly: reports may carry fingerprints
    types: EntityTypes  # the known entity types, in report order


class JsonlWriter:
    def __init__(self, stream: IO[str], include_fingerprints: bool) -> None:
        self._stream, self._fps = stream, include_fingerprints

    def write(self, result: FileResult) -> None:
        self._stream.write(json.dumps(report_line(result, self._fps), ensure_ascii=False) + "\n")
        self._stream.flush()


class CsvWriter:
    """Distinct counts per entity type (one column per known type), then per-type confidence and
    locations (`TYPE: value; …`); never fingerprints or samples."""

    LEADING = ("path", "status", "media_type", "flagged", "severity", "records")
    TRAILING = ("rules", "reason", "owner", "mtime", "size", "confidence", "locations")
    EXPOSURE = ("exposure", "exposure_principal", "risk", "risk_score", "stale")

    def __init__(self, stream: IO[str], types: EntityTypes) -> None:
        self._stream = stream
        self._types = tuple(types)
        self._csv = csv.writer(stream)
        self._csv.writerow((*self.LEADING, *self._types, *self.TRAILING, *self.EXPOSURE))

    def write(self, result: FileResult) -> None:
        line = report_line(result, include_fingerprints=False)
        counts = [line["entities"].get(t, {}).get("distinct", 0) for t in self._types]
        self._csv.writerow(
            (
                line["path"],
                line["status"],
                line["media_type"],
                str(line["flagged"]).lower(),
                line["severity"],
                line["records"],
                *counts,
                ";".join(r["rule"] for r in line["rules"]),
                line.get("reason") or line.get("error") or "",
                line.get("owner", ""),
                line.get("mtime", ""),
                line.get("size", ""),
                _per_type(line, lambda e: e["confidence"]),
                _per_type(line, lambda e: ", ".join(e.get("locations", ()))),
                line.get("exposure", {}).get("level", ""),
                line.get("exposure", {}).get("principal", ""),
                line["risk"],
                line["risk_score"],
                str(line["stale"]).lower(),
            )
        )
        self._stream.flush()


def _per_type(line: dict[str, Any], value: Callable[[dict[str, Any]], str]) -> str:
    """`CN_RESIDENT_ID: high; CN_MOBILE: low` over the types found (types with an empty value left out)."""
    parts = ((etype, value(entry)) for etype, entry in line["entities"].items())
    return "; ".join(f"{etype}: {text}" for etype, text in parts if text)
