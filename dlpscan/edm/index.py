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
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dlpscan.edm.errors import EdmError
from dlpscan.edm.header import ALIGN, ARRAYS, FORMAT, HEADER_SPACE, MAGIC, PREAMBLE, IndexHeader, read_header

__all__ = ["EdmIndex", "IndexHeader", "Section", "read_header", "write_index"]


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
            if PREAMBLE.size + len(encoded) > HEADER_SPACE:
                raise EdmError("the EDM schema is too large for the index header")
            f.seek(0)
            f.write(PREAMBLE.pack(MAGIC, FORMAT, len(encoded)) + encoded)
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
        mapped = np.memmap(self.path, dtype=ARRAYS[name], mode="r", offset=offset, shape=tuple(shape))
        return mapped.view(np.ndarray)  # the same pages, without memmap's per-access overhead

    def rows_of(self, digests: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(i, row) for every master row whose primary value has digest `digests[i]`.

        The digests are looked up in ascending order (numpy's binary search then starts where the
        previous one ended: far fewer cache misses in a large index), and the end of a run of equal
        digests (a value several rows share) is searched for the hits only."""
        order = np.argsort(digests, kind="stable")
        wanted = digests[order]
        left = np.searchsorted(self.primary_digest, wanted, side="left")
        inside = left < len(self.primary_digest)
        hit = np.flatnonzero(inside)[self.primary_digest[left[inside]] == wanted[inside]]
        if not len(hit):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint32)
        right = np.searchsorted(self.primary_digest, wanted[hit], side="right")
        counts = right - left[hit]
        which = np.repeat(order[hit], counts)
        starts = np.repeat(left[hit] - np.cumsum(counts) + counts, counts)
        positions = starts + np.arange(len(which))
        return which, self.primary_row[positions]
