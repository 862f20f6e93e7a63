"""Report writers: JSON Lines (the stable contract) and CSV (one row per file, for spreadsheets)."""

from __future__ import annotations

import binascii
import codecs
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


# Text encodings in which ASCII text is its own bytes: fingerprint arrays go to such a stream's
# binary buffer as bytes, without the text layer's copy and encoding (a third of writing them).
_ASCII_BYTES = frozenset({"utf-8", "ascii", "iso8859-1", "cp1252", "gb18030", "gbk"})  # codecs names


class JsonlWriter:
    def __init__(self, stream: IO[str], include_fingerprints: bool) -> None:
        self._stream, self._fps = stream, include_fingerprints
        self._binary = _binary_buffer(stream)

    def write(self, result: FileResult) -> None:
        for part in report_json_pieces(result, self._fps):
            if isinstance(part, str):
                self._stream.write(part)
            elif self._binary is None:
                self._stream.write(_hex_array(part))
            else:
                self._stream.flush()
                self._binary.writelines(_hex_array_parts(part))
        self._stream.write("\n")
        self._stream.flush()


def _binary_buffer(stream: IO[str]) -> IO[bytes] | None:
    """The binary buffer under a text stream whose encoding writes ASCII as itself; None otherwise."""
    buffer, encoding = getattr(stream, "buffer", None), getattr(stream, "encoding", None)
    if buffer is None or not isinstance(encoding, str):
        return None
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return None
    return buffer if name in _ASCII_BYTES else None


def report_json(result: FileResult, include_fingerprints: bool) -> str:
    """`report_line` as one line of JSON, exactly as `json.dumps` writes it."""
    return "".join(
        p if isinstance(p, str) else _hex_array(p) for p in report_json_pieces(result, include_fingerprints)
    )


def report_json_pieces(result: FileResult, include_fingerprints: bool) -> list[str | Fingerprints]:
    """`report_json` in pieces: text, and each fingerprint array as its `Fingerprints`, to be written
    from its digests in one pass (`bytes.hex` with a separator) instead of a string per value, never
    copied into the line's wider (Chinese) text. A 200,000-row export has 600,000."""
    arrays: list[Fingerprints] = []
    stand_in = f"\0{secrets.token_hex(8)}\0"  # cannot be guessed, so no file's text can be one

    def hold(value: object) -> str:
        if not isinstance(value, Fingerprints):
            raise TypeError(f"{type(value).__name__} is not JSON serializable")
        arrays.append(value)
        return stand_in

    text = json.dumps(report_line(result, include_fingerprints), ensure_ascii=False, default=hold)
    if not arrays:
        return [text]
    pieces = text.split(json.dumps(stand_in))  # one more than the arrays, in the order written
    parts: list[str | Fingerprints] = [pieces[0]]
    for array, piece in zip(arrays, pieces[1:], strict=True):
        parts += (array, piece)
    return parts


def _hex_array(fingerprints: Fingerprints) -> str:
    """json.dumps(list(fingerprints))."""
    return b"".join(_hex_array_parts(fingerprints)).decode("ascii")


def _hex_array_parts(fingerprints: Fingerprints) -> tuple[bytes, ...]:
    """`_hex_array` as ASCII bytes, in parts: the digests' hex is not copied again to be bracketed."""
    if not fingerprints:
        return (b"[]",)
    return b'["', binascii.hexlify(fingerprints.digests, b'"', DIGEST_BYTES).replace(b'"', b'", "'), b'"]'


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
