"""The header of a `.edm` file: what an index says about itself, read without mapping its arrays
(and without numpy, so that a scan without an index never loads it). See `index` for the layout."""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from math import prod
from pathlib import Path
from typing import Any

from dlpscan.edm.errors import EdmError

MAGIC = b"DLPSCAN-EDM\0"
FORMAT = 1
HEADER_SPACE = 64 * 1024
ALIGN = 64
PREAMBLE = struct.Struct("<12sII")
ARRAYS = {"primary_digest": "<u8", "primary_row": "<u4", "row_key": "<u8", "corr": "<u4"}
ITEMSIZE = {"<u8": 8, "<u4": 4}


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
            magic, fmt, length = PREAMBLE.unpack(f.read(PREAMBLE.size))
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


def check_size(path: Path, header: IndexHeader) -> None:
    """EdmError when the file is shorter than its arrays (a truncated copy)."""
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise EdmError(f"{path}: cannot read the EDM index: {exc.strerror}") from None
    for name, (offset, *shape) in header.arrays.items():
        if offset + prod(shape) * ITEMSIZE[ARRAYS[name]] > size:
            raise EdmError(f"{path}: damaged EDM index (shorter than its {name} array)")
