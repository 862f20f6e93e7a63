"""Findings of one document -> per-type counts, records, keyed fingerprints and masked samples.

This is where raw values stop: what leaves here is counts, HMAC-SHA256 fingerprints and masked forms.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import heapq
import hmac
import re
from collections import defaultdict
from collections.abc import Callable, Iterable

from dlpscan.detect import compiled
from dlpscan.detect.backends import Candidates
from dlpscan.detect.categorise import BlockCategory, Categoriser
from dlpscan.detect.registry import RecognizerDef
from dlpscan.detect.scoring import Finding
from dlpscan.detect.validators import minor_age
from dlpscan.entities import DataCategory
from dlpscan.model import Block, CategoryStats, EntityStats, Fingerprints, MaskedStats, TableBlock

SAMPLES_PER_TYPE = 3
LOCATIONS_PER_TYPE = 5
KEY_BYTES = 16  # keyed digests of category people and records: enough to count distinct ones
CONFIRMED, MARKED = 1, 2  # flag bits of a value: a label or header confirmed it; a minor's ID
MINORS_OF = "CN_RESIDENT_ID"  # the type whose values say when a person is a minor
_RANGE = re.compile(r"(?:^|\s)(lines|rows) (\d+)-\d+$")  # an extractor's "lines 1-200" block location


def fingerprint(key: bytes, value: str) -> str:
    """Lower-case hex HMAC-SHA256 of the normalised value (report contract)."""
    return hmac.digest(key, value.encode("utf-8"), "sha256").hex()


class Fingerprinter:
    """`fingerprint` for many values under one key: the HMAC inner and outer pads are hashed once
    (RFC 2104), so each value costs two hash copies instead of a full HMAC set-up (2-3x faster)."""

    def __init__(self, key: bytes) -> None:
        block = hashlib.sha256().block_size
        padded = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))
        native = compiled.native()  # the same pads in C (OpenSSL), where built
        self._native = (
            functools.partial(native.DistinctValues, native.Fingerprints(key)) if native is not None else None
        )

    def distinct_values(self) -> DistinctValues:
        """A tally of one type's values by their fingerprints (in C where built)."""
        return self._native() if self._native is not None else DistinctValues(self._hmac)

    def digest(self, value: str) -> bytes:
        """The first KEY_BYTES bytes of the value's HMAC-SHA256 (a compact key for counting)."""
        return self._hmac(value)[:KEY_BYTES]

    def _hmac(self, value: str) -> bytes:
        inner = self._inner.copy()
        inner.update(value.encode("utf-8"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


class DistinctValues:
    """One type's values in a document kept as their fingerprints (HMAC-SHA256), never as values:
    how many are distinct, how many of those some finding confirmed (flag bit 1) or marked (bit 2),
    and the distinct fingerprints. `_native.DistinctValues` is the same in C."""

    def __init__(self, hmac_of: Callable[[str], bytes]) -> None:
        self._hmac = hmac_of
        self._flags: dict[bytes, int] = {}  # digest -> its values' flags, ORed

    def add(self, values: list[str], flags: bytes) -> None:
        """Each of `values` with its byte of `flags`."""
        for value, flag in zip(values, flags, strict=True):
            digest = self._hmac(value)
            self._flags[digest] = self._flags.get(digest, 0) | flag

    def counts(self) -> tuple[int, int, int]:
        """(distinct, confirmed, marked) values."""
        flags = self._flags.values()
        return len(flags), sum(1 for f in flags if f & CONFIRMED), sum(1 for f in flags if f & MARKED)

    def digests(self) -> bytes:
        """The distinct fingerprints, sorted and concatenated (32 bytes each)."""
        return b"".join(sorted(self._flags))


class CategoryTally:
    """People, de-duplicated records and track points per legal data category of one document.

    Records are de-duplicated by keyed digest; in a track category a point is also dropped when it
    repeats the previous position of the same person (a parked car reporting every minute).
    """

    def __init__(self, fingerprints: Fingerprinter, categories: dict[str, DataCategory]) -> None:
        self._fp = fingerprints
        self._tracks = frozenset(name for name, c in categories.items() if c.tracks)
        self._people: dict[str, set[str]] = defaultdict(set)
        self._records: dict[str, set[bytes]] = defaultdict(set)
        self._rows: dict[str, int] = defaultdict(int)
        self._basis: dict[str, dict[str, None]] = defaultdict(dict)
        self._last: dict[tuple[str, str], str] = {}  # (category, person) -> last position

    def add(self, hits: list[BlockCategory]) -> None:
        for hit in hits:
            name = hit.category
            people, records, track = self._people[name], self._records[name], name in self._tracks
            self._basis[name].update(dict.fromkeys(hit.basis))
            self._rows[name] += len(hit.records)
            for rec in hit.records:
                people.add(rec.identity)
                key = self._fp.digest(rec.record)
                if track:
                    if key in records:
                        continue
                    where = rec.position or rec.record
                    if self._last.get((name, rec.identity)) == where:
                        continue
                    self._last[(name, rec.identity)] = where
                records.add(key)

    def stats(self) -> dict[str, CategoryStats]:
        return {
            name: CategoryStats(
                people=len(self._people[name]),
                records=len(self._records[name]),
                rows=rows,
                basis=list(self._basis[name]),
                people_keys=b"".join(sorted(self._fp.digest(p) for p in self._people[name])),
                record_keys=b"".join(sorted(self._records[name])),
            )
            for name, rows in self._rows.items()
        }


class DocumentAggregate:
    """Accumulates findings block by block; `entities()` etc. read the totals."""

    def __init__(
        self,
        definitions: Iterable[RecognizerDef],
        key: bytes,
        categoriser: Categoriser | None = None,
        categories: dict[str, DataCategory] | None = None,
    ) -> None:
        self._fingerprints = Fingerprinter(key)
        self._categoriser = categoriser
        self._categories = CategoryTally(self._fingerprints, categories or {})
        self._types = {d.entity: d.entity_type for d in definitions}
        self._personal = frozenset(e for e, t in self._types.items() if t.personal_data)
        self._today = dt.date.today()  # resident IDs of minors are marked as they are found
        self._values: dict[str, DistinctValues] = {}
        self._samples: dict[str, list[str]] = {}  # the smallest distinct values, to be masked
        self._locations: dict[str, dict[str, None]] = defaultdict(dict)  # ordered, distinct
        self._totals: dict[str, int] = defaultdict(int)
        self._masked: dict[str, MaskedStats] = {}
        self.records = 0
        self.notes: dict[str, int] = defaultdict(int)

    def add_block(
        self, findings: list[Finding], block: Block | None = None, evidence: Candidates | None = None
    ) -> None:
        """Count one block's findings; `block` (where they were found) feeds the location sample;
        `evidence`: the categoriser's candidates from the engine's scan of a text block, if shared."""
        batches: dict[str, list[list]] = {}  # type -> [values, flags]
        core = compiled.core()
        self.records += (core.tally if core is not None else tally)(
            findings,
            batches,
            self._totals,
            self._locations,
            self._personal,
            functools.partial(location, block) if block is not None else None,
            self._add_unexposed,
            LOCATIONS_PER_TYPE,
            MINORS_OF,
            self._today,
        )
        smallest = core.smallest if core is not None else _smallest
        for etype, (values, flags) in batches.items():
            if etype not in self._values:
                self._values[etype] = self._fingerprints.distinct_values()
            self._values[etype].add(values, bytes(flags))
            self._samples[etype] = smallest(SAMPLES_PER_TYPE, [*self._samples.get(etype, ()), *values])
        if self._categoriser is not None and block is not None and findings:
            self._categories.add(self._categoriser.block(block, findings, evidence))

    def _add_unexposed(self, f: Finding) -> None:
        """A value damaged by a spreadsheet (a note) or already masked (counted, never exposed)."""
        if f.damaged:
            self.notes[f"{f.entity_type.lower()}_damaged"] += 1
            return
        stats = self._masked.setdefault(f.entity_type, MaskedStats())
        stats.total += 1
        if f.hidden_digits < self._types[f.entity_type].mask_rule.min_hidden:
            stats.noncompliant += 1

    def entities(self, with_fingerprints: bool) -> dict[str, EntityStats]:
        out: dict[str, EntityStats] = {}
        for etype in sorted(self._values):
            values = self._values[etype]
            distinct, confirmed, _ = values.counts()
            fps = None
            if with_fingerprints and self._types[etype].fingerprint:
                fps = Fingerprints(values.digests())
            out[etype] = EntityStats(
                distinct=distinct,
                total=self._totals[etype],
                fingerprints=fps,
                samples=[self._types[etype].mask(v) for v in self._samples[etype]],
                confirmed=confirmed,
                locations=list(self._locations[etype]),
            )
        return out

    def categories(self) -> dict[str, CategoryStats]:
        return self._categories.stats()

    def masked(self) -> dict[str, MaskedStats]:
        return dict(sorted(self._masked.items()))

    def final_notes(self) -> dict[str, int]:
        minors = self._values[MINORS_OF].counts()[2] if MINORS_OF in self._values else 0
        if minors:
            self.notes["minors"] = minors
        return dict(self.notes)


def tally(
    findings: list[Finding],
    batches: dict[str, list[list]],
    totals: dict[str, int],
    locations: dict[str, dict[str, None]],
    personal: frozenset[str],
    where: Callable[[int], str] | None,
    unexposed: Callable[[Finding], None],
    max_places: int,
    marked: str,
    today: dt.date,
) -> int:
    """One block's findings into the aggregate's dicts (`_core.tally` is this loop compiled): values
    and flags into `batches`, counts and locations; returns the block's records (rows or lines with
    two or more personal-data findings)."""
    per_record: dict[int, int] = defaultdict(int)
    for f in findings:
        etype = f.entity_type
        if f.damaged or f.masked:
            unexposed(f)
            continue
        values, flags = batches.setdefault(etype, [[], []])
        values.append(f.value)
        flags.append(
            (CONFIRMED if f.confirmed else 0)
            | (MARKED if etype == marked and minor_age(f.value, today) else 0)
        )
        totals[etype] += 1
        if where is not None:
            places = locations[etype]
            if len(places) < max_places:
                places[where(f.record)] = None
        if etype in personal:
            per_record[f.record] += 1
    return sum(1 for n in per_record.values() if n >= 2)


def _smallest(k: int, values: list[str]) -> list[str]:
    """The k smallest distinct values (the compiled `smallest` in Python)."""
    return heapq.nsmallest(k, set(values))


def location(block: Block, record: int) -> str:
    """Where a finding is, for people ("Sheet1 row 12", "page 3 line 4", "line 40"); never a value.

    `record` is the finding's row (tables) or line (text) inside the block, from 0.
    """
    if isinstance(block, TableBlock):
        return f"{block.location} row {block.first_row + record}".strip()
    where, unit, first = block.location, "line", block.first_line
    span = _RANGE.search(where)
    if span:  # a block that says which lines or rows it holds: count from there
        where, first = where[: span.start()], int(span.group(2))
        unit = "row" if span.group(1) == "rows" else "line"
    return f"{where.strip()} {unit} {first + record}".strip()
