"""Plain data types passed between pipeline stages.

walk -> extract (Document, Block) -> detect (Finding) -> aggregate/policy (FileResult) -> sinks/store.
Nothing here does I/O. Raw values live only in `Finding.value` inside the process;
`FileResult` carries counts, keyed fingerprints and masked samples only.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import overload

DIGEST_BYTES = 32  # HMAC-SHA256


class Status(StrEnum):
    SCANNED = "scanned"
    ENCRYPTED = "encrypted"
    ERROR = "error"
    SKIPPED = "skipped"
    PARTIAL = "partial"  # read up to a limit or a broken part; what was read is reported, `reason` says why


@dataclass(frozen=True, slots=True)
class OcrText:
    """How sure the OCR engine was of a block it read from an image.

    `spans` (TextBlock): (start, end, confidence) of each recognised run of `text`.
    `cells` (TableBlock): the confidence of each cell, row by row like `rows`.
    `card`: "id_card" or "bank_card" when the image's layout is one.
    """

    spans: tuple[tuple[int, int, float], ...] = ()
    cells: tuple[tuple[float, ...], ...] = ()
    card: str = ""


@dataclass(frozen=True, slots=True)
class TextBlock:
    """A run of free text (a whole small file, a PDF page, a chunk of lines of a big file)."""

    text: str
    location: str = ""
    first_line: int = 1  # 1-based line number of the block's first line in the source, for locations
    ocr: OcrText | None = None  # set when the text was read from an image


@dataclass(frozen=True, slots=True)
class TableBlock:
    """Consecutive rows of one table, with the column headers that apply to them.

    `header[i]` labels column i ('' when unknown). `rows` are cell strings; numeric
    cells are already rendered as text (integers without '.0'). `first_row` is the
    1-based row number of `rows[0]` in the source, for locations only.
    """

    header: tuple[str, ...]
    rows: list[tuple[str, ...]]
    location: str = ""
    first_row: int = 1
    ocr: OcrText | None = None  # set when the table was read from an image


Block = TextBlock | TableBlock


@dataclass(slots=True)
class Document:
    """One readable unit: a file, or a member of an archive.

    `blocks` is lazy. Iterating it may raise `dlpscan.extract.errors.ExtractError`
    (or a subclass); the pipeline turns that into a status. A document that is
    known up front to be unreadable carries `status`/`reason` and no blocks.
    `notes` collects non-fatal observations from the extractor (e.g. numbers that
    Excel stored as floats and damaged), as counts keyed by a short code.
    """

    path: str
    media_type: str
    blocks: Iterator[Block] = field(default_factory=lambda: iter(()))
    status: Status = Status.SCANNED
    reason: str | None = None
    size: int | None = None
    is_container: bool = False
    notes: dict[str, int] = field(default_factory=dict)
    edm: EdmMatch | None = None  # set when scanned with an EDM index


class Fingerprints(Sequence[str]):
    """The distinct keyed fingerprints of one entity type in one file, read as the report contract's
    lower-case hex strings in ascending order, held as their 32-byte digests in one bytes object: that
    object, not one string per value, crosses from the worker to the scan's parent and into the store
    (a 200,000-row export has 600,000 of them)."""

    __slots__ = ("digests",)

    def __init__(self, digests: bytes = b"") -> None:
        """`digests`: distinct HMAC-SHA256 digests, sorted, concatenated."""
        if len(digests) % DIGEST_BYTES:
            raise ValueError("fingerprint digests are not a whole number of 32-byte digests")
        self.digests = bytes(digests)

    def __len__(self) -> int:
        return len(self.digests) // DIGEST_BYTES

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return list(self)[index]
        i = range(len(self))[index]  # IndexError, negative indexes
        return self.digests[i * DIGEST_BYTES : (i + 1) * DIGEST_BYTES].hex()

    def __iter__(self) -> Iterator[str]:
        text, width = self.digests.hex(), 2 * DIGEST_BYTES
        return (text[i : i + width] for i in range(0, len(text), width))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Fingerprints):
            return self.digests == other.digests
        if isinstance(other, list | tuple):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to lists, as a list would be

    def __repr__(self) -> str:
        return f"Fingerprints({len(self)})"

    def __reduce__(self) -> tuple[type[Fingerprints], tuple[bytes]]:
        return Fingerprints, (self.digests,)


@dataclass(slots=True)
class EntityStats:
    """Per-file statistics for one entity type. Never holds raw values."""

    distinct: int = 0
    total: int = 0
    # Lower-case hex HMAC-SHA256s of the distinct values (the scan gives a `Fingerprints`).
    fingerprints: Sequence[str] | None = None
    samples: list[str] = field(default_factory=list)  # masked forms only
    confirmed: int = 0  # distinct values that a column header or a label confirmed (not pattern alone)
    locations: list[str] = field(default_factory=list)  # a capped sample: "Sheet1 row 12", "page 3 line 4"


@dataclass(slots=True)
class MaskedStats:
    """Values found already masked (e.g. 138****8000): counted, never fingerprinted."""

    total: int = 0
    noncompliant: int = 0  # masking weaker than the type's standard (GB/T 41833 for phones)


@dataclass(slots=True)
class CategoryStats:
    """Per-file counts of one legal data category (recognizers/categories). Never holds raw values.

    `people`: distinct people (each record's strongest identifier); `records`: records after
    dropping exact duplicates (track categories: points, consecutive identical positions of one
    person dropped too); `rows`: records as found. `basis`: the header words or pattern names that
    decided it. `people_keys`/`record_keys`: sorted 16-byte keyed digests of the people and the
    records, for counts across files (kept by the store, never reported).
    """

    people: int = 0
    records: int = 0
    rows: int = 0
    basis: list[str] = field(default_factory=list)
    people_keys: bytes = b""
    record_keys: bytes = b""


@dataclass(slots=True)
class EdmMatch:
    """A file's exact data match against a customer index (docs/edm.md). Never holds a value.

    `high`: distinct master rows whose primary value was found with a corroborating field of the
    same row nearby; `medium`: distinct master rows whose primary value was found alone.
    `row_keys`/`high_keys`: the keys of the matched rows / of the high ones, 8 bytes each, sorted
    (keyed digests, stable across rebuilds of the index), for counts across files. `evidence`: the
    file's keyed digests and where they were found, to apply a rebuilt index without reading the
    file again (kept by the store, never reported).
    """

    index: str
    version: str
    key_id: str
    high: int = 0
    medium: int = 0
    row_keys: bytes = b""
    high_keys: bytes = b""
    evidence: bytes | None = None

    @property
    def matched(self) -> int:
        return self.high + self.medium


@dataclass(frozen=True, slots=True)
class Access:
    """Who can read a file (docs/exposure.md): the widest audience and the principal that decided it.

    `level`: public, organisation, group, owner or unknown. `principal`: `other`, `group:hr`,
    `user:alice`, `sid:S-1-1-0`, `share:hr` … (names of accounts and groups, never file content).
    `readers`: accounts that can read, when countable (None: anyone, or not known).
    `via`: what it was read from: `mode`, `acl` (POSIX ACL), `cifs` (NTFS ACL), `smb.conf` (a share).
    """

    level: str
    principal: str
    readers: int | None = None
    via: str = "mode"


@dataclass(frozen=True, slots=True)
class RuleHit:
    policy: str
    rule: str
    severity: str
    scope: str = "file"


@dataclass(slots=True)
class FileResult:
    """What the scanner knows about one file or archive member (one report line)."""

    path: str
    status: Status
    media_type: str = "application/octet-stream"
    entities: dict[str, EntityStats] = field(default_factory=dict)
    masked: dict[str, MaskedStats] = field(default_factory=dict)
    records: int = 0
    flagged: bool = False
    severity: str = "none"
    rules: list[RuleHit] = field(default_factory=list)
    error: str | None = None
    reason: str | None = None
    size: int | None = None
    mtime: float | None = None
    owner: str | None = None
    inode: int | None = None
    device: int | None = None  # st_dev of the file (top-level files only, like inode)
    content_hash: str | None = None  # SHA-256 of the file's bytes, when the scan was asked to hash
    is_container: bool = False
    notes: dict[str, int] = field(default_factory=dict)
    edm: EdmMatch | None = None  # set when scanned with an EDM index
    access: Access | None = None  # who can read the file (of the outermost file, for archive members)
    risk: str = "none"  # severity x exposure (dlpscan.policy.risk)
    risk_score: int = 0  # 0-100, sortable
    stale: bool = False  # not modified for `stale_days`
    categories: dict[str, CategoryStats] = field(default_factory=dict)  # legal data categories found
