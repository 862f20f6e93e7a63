"""`dlpscan edm build`: a customer master table (CSV or XLSX) -> a `.edm` index of keyed digests.

Rows are read in chunks; each chunk is normalised and digested (in worker processes with
`jobs` > 1) into compact numpy arrays. Row-ordered arrays stream to temporary files, primary
digests into 256 buckets by their first byte, so memory stays flat however long the table is;
each bucket is then sorted on its own. A row that cannot be read, is too short or has no valid
primary value is counted (with its row number) and skipped: bad rows never stop a build.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import datetime as dt
import itertools
import multiprocessing as mp
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dlpscan.detect import compiled
from dlpscan.detect.registry import label_words, load_definitions
from dlpscan.detect.scoring import Labels
from dlpscan.detect.text import fold
from dlpscan.edm.errors import EdmError
from dlpscan.edm.index import IndexHeader, Section, write_index
from dlpscan.edm.keys import DIGEST_BYTES, Digester
from dlpscan.edm.schema import EdmSchema, schema_hash
from dlpscan.extract.delimited import sniff_layout
from dlpscan.extract.tables import render_row

CHUNK_ROWS = 50_000
BUCKETS = 256
MAX_ROWS = 2**32 - 1
BAD_ROWS_LISTED = 10
_PAIR = np.dtype([("digest", "<u8"), ("row", "<u4")])
_EMPTY, _INVALID = "", None  # what a cell normalises to when it is blank / not a valid value


@dataclass(slots=True)
class ColumnStats:
    values: int = 0
    empty: int = 0
    invalid: int = 0  # not a valid value of the column's type (checksum, format): never matches


@dataclass(slots=True)
class BuildReport:
    """What a build did, for people and scripts. Counts and row numbers only, never a value."""

    output: str = ""
    rows_read: int = 0
    rows_indexed: int = 0
    empty_rows: int = 0  # blank lines or rows: skipped, not bad
    bad_rows: int = 0
    bad_reasons: Counter[str] = field(default_factory=Counter)
    first_bad_rows: list[int] = field(default_factory=list)  # row numbers in the input, 1-based
    columns: dict[str, ColumnStats] = field(default_factory=dict)
    shared_primary_values: int = 0  # primary digests that more than one row holds
    seconds: float = 0.0
    header: IndexHeader | None = None

    def describe(self) -> dict:
        return {
            "output": self.output,
            "rows_read": self.rows_read,
            "rows_indexed": self.rows_indexed,
            "empty_rows": self.empty_rows,
            "bad_rows": self.bad_rows,
            "bad_reasons": dict(self.bad_reasons),
            "first_bad_rows": self.first_bad_rows,
            "columns": {label: dataclasses.asdict(c) for label, c in self.columns.items()},
            "shared_primary_values": self.shared_primary_values,
            "seconds": round(self.seconds, 2),
            "index": self.header.describe() if self.header else None,
        }

    def summary(self) -> str:
        lines = [f"{self.output}: {self.rows_indexed:,} rows indexed of {self.rows_read:,} read"]
        if self.bad_rows:
            reasons = ", ".join(f"{n:,} {reason}" for reason, n in self.bad_reasons.most_common())
            first = ", ".join(map(str, self.first_bad_rows))
            lines.append(f"  {self.bad_rows:,} bad rows skipped ({reasons}); the first at rows {first}")
        for label, c in self.columns.items():
            lines.append(f"  {label}: {c.values:,} values, {c.empty:,} empty, {c.invalid:,} invalid")
        if self.shared_primary_values:
            lines.append(f"  {self.shared_primary_values:,} primary values are shared by several rows")
        if self.header is not None:
            h = self.header
            lines.append(
                f"  version {h.version}, key id {h.key_id}, schema {h.schema_hash}; {self.seconds:.1f} s"
            )
        return "\n".join(lines)

    def add_bad(self, row_number: int, reason: str) -> None:
        self.bad_rows += 1
        self.bad_reasons[reason] += 1
        if len(self.first_bad_rows) < BAD_ROWS_LISTED:
            self.first_bad_rows.append(row_number)


# ---- reading the master table -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MasterRows:
    """The rows of the input: the header (empty when the schema says there is none) and the rest,
    each with its 1-based row number in the input; None stands for a line that could not be parsed."""

    header: tuple[str, ...]
    rows: Iterator[tuple[int, tuple[str, ...] | None]]


def read_master(
    path: Path, header_row: bool, encoding: str | None = None, sheet: str | None = None
) -> MasterRows:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"):
        rows = _sheet_rows(path, sheet)
    else:
        rows = _csv_rows(path, encoding)
    if not header_row:
        return MasterRows((), rows)
    first = next(rows, None)
    if first is None or first[1] is None:
        raise EdmError(f"{path}: no header row")
    return MasterRows(tuple(c.strip() for c in first[1]), rows)


def _csv_rows(path: Path, encoding: str | None) -> Iterator[tuple[int, tuple[str, ...] | None]]:
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 20)
    except OSError as exc:
        raise EdmError(f"cannot read {path}: {exc.strerror}") from None
    encoding = encoding or _guess_encoding(head)
    layout = sniff_layout(head.decode(encoding, errors="replace"), strict=False)
    delimiter = layout.delimiter if layout is not None else ("\t" if path.suffix.lower() == ".tsv" else ",")
    return _parse_csv(path, encoding, delimiter)


def _guess_encoding(head: bytes) -> str:
    """UTF-8 (with or without BOM) when the start decodes as such, else GB18030 (GBK exports)."""
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            return "gb18030"
    return "utf-8-sig"


def _parse_csv(path: Path, encoding: str, delimiter: str) -> Iterator[tuple[int, tuple[str, ...] | None]]:
    with open(path, encoding=encoding, errors="replace", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        number = 0
        while True:
            number += 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error:  # its message may quote the line: never shown
                yield number, None
                continue
            yield number, tuple(row)


def _sheet_rows(path: Path, sheet: str | None) -> Iterator[tuple[int, tuple[str, ...] | None]]:
    import python_calamine as calamine

    try:
        workbook = calamine.CalamineWorkbook.from_path(str(path))
        data = workbook.get_sheet_by_name(sheet) if sheet else workbook.get_sheet_by_index(0)
        rows = data.iter_rows()
    except Exception as exc:  # calamine's errors may quote cells: the type name only
        raise EdmError(f"cannot read the workbook {path}: {type(exc).__name__}") from None
    return ((n, render_row(r)) for n, r in enumerate(rows, 1))


def column_positions(schema: EdmSchema, header: Sequence[str]) -> list[int]:
    """The 0-based input position of each schema column."""
    wanted = {h.casefold(): i for i, h in reversed(list(enumerate(header)))}
    positions = []
    for c in schema.columns:
        if c.position is not None:
            positions.append(c.position - 1)
        elif c.header is not None and c.header.strip().casefold() in wanted:
            positions.append(wanted[c.header.strip().casefold()])
        else:
            raise EdmError(f"the input has no column headed {c.header!r} (in its first row)")
    return positions


# ---- digesting chunks (in worker processes when jobs > 1) ------------------------------------------


@dataclass(frozen=True, slots=True)
class BuildSpec:
    """What a worker needs to digest chunks; picklable."""

    key: bytes
    recognizer_dirs: tuple[str, ...]
    types: tuple[str, ...]  # per schema column
    primary: tuple[bool, ...]
    positions: tuple[int, ...]


@dataclass(slots=True)
class ChunkResult:
    rows: int  # rows indexed
    empty: int  # blank rows, skipped
    bad: list[tuple[int, str]]  # (row number, reason)
    primary: list[tuple[np.ndarray, np.ndarray]]  # per primary column: digests, row among the chunk's indexed
    row_key: bytes
    corr: np.ndarray  # u32 [rows, corroborating columns]
    columns: list[ColumnStats]


class _ChunkDigester:
    def __init__(self, spec: BuildSpec) -> None:
        definitions = {d.entity: d for d in load_definitions([Path(d) for d in spec.recognizer_dirs])}
        known = label_words(definitions.values())
        self.spec = spec
        self.digester = Digester(spec.key)
        self.cleaners = [
            _cleaner(definitions[t].normalise, Labels.of(definitions[t], known).validate if primary else None)
            for t, primary in zip(spec.types, spec.primary, strict=True)
        ]
        self.width = max(spec.positions) + 1
        self.primary_cols = [c for c, p in enumerate(spec.primary) if p]
        self.corr_cols = [c for c, p in enumerate(spec.primary) if not p]

    def __call__(self, chunk: list[tuple[int, tuple[str, ...] | None]]) -> ChunkResult:
        bad: list[tuple[int, str]] = []
        numbers, rows, empty = [], [], 0
        for number, row in chunk:
            if row is None:
                bad.append((number, "unreadable_line"))
            elif not any(cell.strip() for cell in row):
                empty += 1
            elif len(row) < self.width:
                bad.append((number, "short_row"))
            else:
                numbers.append(number)
                rows.append(row)
        digests, stats = self._digest_columns(rows)
        primary = digests[:, self.primary_cols]
        indexed = primary.any(axis=1)  # a row without a valid primary value can never match
        bad += [(numbers[j], "no_primary_value") for j in np.flatnonzero(~indexed)]
        digests, primary = digests[indexed], np.ascontiguousarray(primary[indexed])
        row_key = self.digester.row_keys(primary.tobytes(), DIGEST_BYTES * len(self.primary_cols))
        corr = np.zeros((len(digests), len(self.corr_cols)), dtype="<u4")
        keys = np.frombuffer(row_key, dtype="<u8")
        for k, c in enumerate(self.corr_cols):
            present = np.flatnonzero(digests[:, c])
            pairs = np.column_stack((keys[present], digests[present, c])).astype("<u8")
            corr[present, k] = self.digester.corroborations(pairs.tobytes())
        by_column = []
        for c in self.primary_cols:
            present = np.flatnonzero(digests[:, c])
            by_column.append((digests[present, c], present.astype("<u4")))
        return ChunkResult(len(digests), empty, sorted(bad), by_column, row_key, corr, stats)

    def _digest_columns(self, rows: list[tuple[str, ...]]) -> tuple[np.ndarray, list[ColumnStats]]:
        """u64 value digests [rows, columns], 0 where a cell is empty or invalid; per-column counts."""
        digests = np.zeros((len(rows), len(self.spec.types)), dtype="<u8")
        stats = []
        for c, (pos, clean, etype) in enumerate(
            zip(self.spec.positions, self.cleaners, self.spec.types, strict=True)
        ):
            cells = [clean(row[pos]) for row in rows]
            present = [i for i, v in enumerate(cells) if v]
            if present:
                values = self.digester.value_digests(etype, [cells[i] for i in present])  # type: ignore[misc]
                digests[present, c] = np.frombuffer(b"".join(values), dtype="<u8")
            stats.append(ColumnStats(len(present), cells.count(_EMPTY), cells.count(_INVALID)))
        return digests, stats


def _cleaner(
    normalise: Callable[[str], str], validate: Callable[[str], float] | None
) -> Callable[[str], str | None]:
    """A cell -> its normalised value, the way the scanner normalises what it finds: '' for a blank
    cell, None for a value its recognizer would never report (checked for primary columns only: an
    invalid corroborating value just never corroborates, and checking costs more than digesting)."""

    core = compiled.core()
    if validate is not None and core is not None:
        validate = core.fast_validator(validate)

    def clean(cell: str) -> str | None:
        cell = cell.strip()
        if not cell:
            return _EMPTY
        value = normalise(cell if cell.isascii() else fold(cell))
        if not value or (validate is not None and validate(value) <= 0):
            return _INVALID
        return value

    return clean


_worker: _ChunkDigester | None = None


def _init_worker(spec: BuildSpec) -> None:
    global _worker
    _worker = _ChunkDigester(spec)


def _digest_in_worker(chunk: list[tuple[int, tuple[str, ...] | None]]) -> ChunkResult:
    assert _worker is not None
    return _worker(chunk)


# ---- assembling the index -----------------------------------------------------------------------


class _Spill:
    """Temporary files for the arrays while rows stream in."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.row_key = open(folder / "row_key", "wb")  # noqa: SIM115 - closed in close()
        self.corr = open(folder / "corr", "wb")  # noqa: SIM115
        self.buckets = [open(folder / f"b{b:03d}", "wb") for b in range(BUCKETS)]  # noqa: SIM115

    def add(self, result: ChunkResult, first_row: int) -> None:
        self.row_key.write(result.row_key)
        self.corr.write(result.corr.tobytes())
        for digests, rows in result.primary:
            pairs = np.empty(len(digests), dtype=_PAIR)
            pairs["digest"], pairs["row"] = digests, rows + first_row
            order = np.argsort(pairs["digest"] >> np.uint64(56), kind="stable")
            pairs = pairs[order]
            bounds = np.searchsorted(pairs["digest"] >> np.uint64(56), np.arange(BUCKETS + 1))
            for b in np.flatnonzero(np.diff(bounds)):
                self.buckets[b].write(pairs[bounds[b] : bounds[b + 1]].tobytes())

    def close(self) -> None:
        for f in (self.row_key, self.corr, *self.buckets):
            f.close()

    def sort_buckets(self) -> tuple[int, int]:
        """Sort each bucket into the final primary arrays (files `pd`, `pr`); (entries, shared values)."""
        entries = shared = 0
        with open(self.folder / "pd", "wb") as pd, open(self.folder / "pr", "wb") as pr:
            for b in range(BUCKETS):
                path = self.folder / f"b{b:03d}"
                pairs = np.fromfile(path, dtype=_PAIR)
                path.unlink()
                pairs = pairs[np.argsort(pairs["digest"], kind="stable")]
                pd.write(pairs["digest"].tobytes())
                pr.write(pairs["row"].tobytes())
                entries += len(pairs)
                if len(pairs) > 1:
                    same = pairs["digest"][1:] == pairs["digest"][:-1]
                    shared += int(np.count_nonzero(same & ~np.r_[False, same[:-1]]))
        return entries, shared

    def file_chunks(self, name: str, size: int = 16 << 20) -> Iterator[bytes]:
        with open(self.folder / name, "rb") as f:
            while piece := f.read(size):
                yield piece


def build_index(
    schema: EdmSchema,
    source: Path,
    output: Path,
    key: bytes,
    recognizer_dirs: Sequence[str] = (),
    jobs: int = 1,
    encoding: str | None = None,
    sheet: str | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> BuildReport:
    """Build `output` from the master table `source`. `on_progress(rows_read)` after each chunk."""
    started = time.monotonic()
    definitions = {d.entity: d for d in load_definitions([Path(d) for d in recognizer_dirs])}
    master = read_master(source, schema.header_row, encoding, sheet)
    positions = column_positions(schema, master.header)
    spec = BuildSpec(
        key,
        tuple(recognizer_dirs),
        tuple(c.type for c in schema.columns),
        tuple(c.primary for c in schema.columns),
        tuple(positions),
    )
    report = BuildReport(output=str(output), columns={c.label: ColumnStats() for c in schema.columns})
    chunks = _chunks(master.rows, CHUNK_ROWS)
    with tempfile.TemporaryDirectory(prefix="dlpscan-edm-", dir=output.parent) as tmp:
        spill = _Spill(Path(tmp))
        try:
            for rows_read, result in _digest_all(spec, chunks, jobs):
                report.rows_read += rows_read
                report.empty_rows += result.empty
                for number, reason in result.bad:
                    report.add_bad(number, reason)
                for c, stats in zip(schema.columns, result.columns, strict=True):
                    total = report.columns[c.label]
                    total.values += stats.values
                    total.empty += stats.empty
                    total.invalid += stats.invalid
                if report.rows_indexed + result.rows > MAX_ROWS:
                    raise EdmError(f"more than {MAX_ROWS} rows: split the master table")
                spill.add(result, report.rows_indexed)
                report.rows_indexed += result.rows
                if on_progress is not None:
                    on_progress(report.rows_read)
        finally:
            spill.close()
        if not report.rows_indexed:
            raise EdmError(f"{source}: no row could be indexed (see the schema's columns and types)")
        entries, report.shared_primary_values = spill.sort_buckets()
        report.first_bad_rows.sort()
        canonical = schema.canonical(definitions)
        n, k = report.rows_indexed, len(schema.corroborating)
        report.header = write_index(
            output,
            {
                "name": schema.name,
                "key_id": Digester(key).key_id,
                "schema_hash": schema_hash(canonical),
                "schema": canonical,
                "rows": n,
                "rows_read": report.rows_read,
                "bad_rows": report.bad_rows,
                "build_date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            },
            [
                Section("primary_digest", (entries,), spill.file_chunks("pd")),
                Section("primary_row", (entries,), spill.file_chunks("pr")),
                Section("row_key", (n,), spill.file_chunks("row_key")),
                Section("corr", (n, k), spill.file_chunks("corr")),
            ],
        )
    report.seconds = time.monotonic() - started
    return report


def _chunks(rows: Iterator, size: int) -> Iterator[list]:
    while chunk := list(itertools.islice(rows, size)):
        yield chunk


def _digest_all(spec: BuildSpec, chunks: Iterator[list], jobs: int) -> Iterator[tuple[int, ChunkResult]]:
    """(rows read, result) per chunk, in input order; with `jobs` > 1 chunks are digested in
    worker processes while the next ones are read."""
    if jobs <= 1:
        digest = _ChunkDigester(spec)
        for chunk in chunks:
            yield len(chunk), digest(chunk)
        return
    ctx = mp.get_context("forkserver")
    with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker, initargs=(spec,)) as pool:
        pending: collections.deque[tuple[int, Future[ChunkResult]]] = collections.deque()
        for chunk in chunks:
            pending.append((len(chunk), pool.submit(_digest_in_worker, chunk)))
            if len(pending) > 2 * jobs:  # bounded read-ahead: memory stays flat
                n, future = pending.popleft()
                yield n, future.result()
        for n, future in pending:
            yield n, future.result()
