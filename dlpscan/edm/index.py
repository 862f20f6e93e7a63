"""The `.edm` file: a JSON header and sorted, memory-mapped digest arrays. Never a value.

Layout: `DLPSCAN-EDM\\0`, a little-endian u32 format number and u32 header length, the header
(JSON, at most HEADER_SPACE bytes), then 64-byte aligned arrays from HEADER_SPACE on:

- `primary_digest` u64[M], sorted: the value digest of every non-empty primary cell
- `primary_row`    u32[M]: the master row of each (same order)
- `row_key`        u64[N]: each row's identity (see keys.Digester.row_key)
- `corr`           u32[N, K]: the corroboration digest of each non-primary column, 0 when empty

A lookup is a binary search (numpy.searchsorted) in the mapped array: the operating system pages
in what is touched, and every worker process shares the same page cache.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import struct
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dlpscan.edm.errors import EdmError

MAGIC = b"DLPSCAN-EDM\0"
FORMAT = 1
HEADER_SPACE = 64 * 1024
ALIGN = 64
_PREAMBLE = struct.Struct("<12sII")
ARRAYS = {"primary_digest": "<u8", "primary_row": "<u4", "row_key": "<u8", "corr": "<u4"}


@dataclass(frozen=True, slots=True)
class IndexHeader:
    """What an index says about itself: counts, versions and its schema; never a value."""

    name: str
    version: str  # digest of the content: the same data under the same key and schema gives the same one
    key_id: str
    schema_hash: str
    schema: dict[str, Any]  # the canonical schema: columns' types, primary flags, normalisers; window
    rows: int  # master rows indexed
    rows_read: int
    bad_rows: int
    build_date: str  # ISO 8601, UTC
    arrays: dict[str, list[int]]  # name -> [offset, *shape]

    @property
    def primary_types(self) -> tuple[str, ...]:
        return tuple(sorted({c["type"] for c in self.schema["columns"] if c["primary"]}))

    @property
    def corr_types(self) -> tuple[str, ...]:
        """The types of the corroborating (non-primary) columns, in the order of `corr`'s columns."""
        return tuple(c["type"] for c in self.schema["columns"] if not c["primary"])

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(sorted({c["type"] for c in self.schema["columns"]}))

    @property
    def window(self) -> int:
        return int(self.schema["window"])

    def describe(self) -> dict[str, Any]:
        """For `dlpscan edm info` and reports."""
        return {
            "name": self.name,
            "version": self.version,
            "key_id": self.key_id,
            "schema_hash": self.schema_hash,
            "rows": self.rows,
            "rows_read": self.rows_read,
            "bad_rows": self.bad_rows,
            "build_date": self.build_date,
            "columns": self.schema["columns"],
            "window": self.window,
        }


def read_header(path: Path) -> IndexHeader:
    """The header of an index file; EdmError when the file is not one."""
    try:
        with open(path, "rb") as f:
            magic, fmt, length = _PREAMBLE.unpack(f.read(_PREAMBLE.size))
            if magic != MAGIC:
                raise EdmError(f"{path}: not a dlpscan EDM index")
            if fmt != FORMAT:
                raise EdmError(f"{path}: EDM index format {fmt}; this dlpscan reads format {FORMAT}")
            data = json.loads(f.read(length).decode("utf-8"))
        return IndexHeader(**data)
    except EdmError:
        raise
    except struct.error:
        raise EdmError(f"{path}: not a dlpscan EDM index") from None
    except (OSError, ValueError, TypeError) as exc:
        raise EdmError(f"{path}: cannot read the EDM index: {type(exc).__name__}") from None


@dataclass(frozen=True)
class Section:
    """One array to write: its name, shape and the chunks of its bytes in order."""

    name: str
    shape: tuple[int, ...]
    chunks: Iterable[bytes]


def write_index(path: Path, header: dict[str, Any], sections: list[Section]) -> IndexHeader:
    """Write an index atomically (a temporary file renamed over `path`, so a scan never sees half
    of one). `header` lacks `version` and `arrays`, which are computed here."""
    content = hashlib.sha256(
        json.dumps({k: header[k] for k in ("key_id", "schema")}, sort_keys=True).encode()
    )
    arrays: dict[str, list[int]] = {}
    fd, tmp = tempfile.mkstemp(prefix=".edm-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            offset = HEADER_SPACE
            for section in sections:
                f.seek(offset)
                arrays[section.name] = [offset, *section.shape]
                expected = int(np.prod(section.shape)) * np.dtype(ARRAYS[section.name]).itemsize
                written = 0
                for chunk in section.chunks:
                    f.write(chunk)
                    content.update(chunk)
                    written += len(chunk)
                if written != expected:
                    raise AssertionError(f"{section.name}: {written} bytes written, {expected} expected")
                offset += -(-written // ALIGN) * ALIGN
            f.truncate(offset)
            final = IndexHeader(**header, version=content.hexdigest()[:16], arrays=arrays)
            encoded = json.dumps(dataclasses.asdict(final), ensure_ascii=False).encode()
            if _PREAMBLE.size + len(encoded) > HEADER_SPACE:
                raise EdmError("the EDM schema is too large for the index header")
            f.seek(0)
            f.write(_PREAMBLE.pack(MAGIC, FORMAT, len(encoded)) + encoded)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return final


class EdmIndex:
    """An open index: its header and its arrays, memory-mapped read-only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.header = read_header(path)
        try:
            self.primary_digest = self._array("primary_digest")
            self.primary_row = self._array("primary_row")
            self.row_key = self._array("row_key")
            self.corr = self._array("corr")
        except (OSError, ValueError, KeyError) as exc:
            raise EdmError(f"{path}: damaged EDM index ({type(exc).__name__})") from None
        self.primary_types = self.header.primary_types
        self.corr_types = self.header.corr_types

    def _array(self, name: str) -> np.ndarray:
        offset, *shape = self.header.arrays[name]
        if int(np.prod(shape)) == 0:
            return np.zeros(shape, dtype=ARRAYS[name])
        return np.memmap(self.path, dtype=ARRAYS[name], mode="r", offset=offset, shape=tuple(shape))

    def rows_of(self, digests: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(i, row) for every master row whose primary value has digest `digests[i]`."""
        left = np.searchsorted(self.primary_digest, digests, side="left")
        right = np.searchsorted(self.primary_digest, digests, side="right")
        counts = right - left
        which = np.repeat(np.arange(len(digests)), counts)
        if len(which) == 0:
            return which, np.zeros(0, dtype=np.uint32)
        starts = np.repeat(left - np.cumsum(counts) + counts, counts)
        positions = starts + np.arange(len(which))
        return which, np.asarray(self.primary_row[positions])
