"""Report writers: JSON Lines (the stable contract) and CSV (one row per file, for spreadsheets)."""

from __future__ import annotations

import csv
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, Protocol

from dlpscan.entities import EntityTypes
from dlpscan.model import DIGEST_BYTES, FileResult, Fingerprints
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
        self._stream.writelines(report_json_parts(result, self._fps))
        self._stream.write("\n")
        self._stream.flush()


def report_json(result: FileResult, include_fingerprints: bool) -> str:
    """`report_line` as one line of JSON, exactly as `json.dumps` writes it."""
    return "".join(report_json_parts(result, include_fingerprints))


def report_json_parts(result: FileResult, include_fingerprints: bool) -> list[str]:
    """`report_json` in parts. Fingerprint arrays are written from their digests in one pass
    (`bytes.hex` with a separator) instead of a string per value, and stay parts of their own: pure
    ASCII, never copied into the line's wider (Chinese) text. A 200,000-row export has 600,000."""
    arrays: list[str] = []
    stand_in = f"\0{secrets.token_hex(8)}\0"  # cannot be guessed, so no file's text can be one

    def hold(value: object) -> str:
        if not isinstance(value, Fingerprints):
            raise TypeError(f"{type(value).__name__} is not JSON serializable")
        arrays.append(_hex_array(value))
        return stand_in

    text = json.dumps(report_line(result, include_fingerprints), ensure_ascii=False, default=hold)
    if not arrays:
        return [text]
    pieces = text.split(json.dumps(stand_in))  # one more than the arrays, in the order written
    parts = [pieces[0]]
    for array, piece in zip(arrays, pieces[1:], strict=True):
        parts += (array, piece)
    return parts


def _hex_array(fingerprints: Fingerprints) -> str:
    """json.dumps(list(fingerprints))."""
    if not fingerprints:
        return "[]"
    return '["' + fingerprints.digests.hex('"', DIGEST_BYTES).replace('"', '", "') + '"]'


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
