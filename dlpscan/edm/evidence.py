"""Per document: where values of an EDM schema's types were found, as keyed digests.

Collected while a document is read (one dictionary lookup per finding, one HMAC per distinct
value), matched against the index when the document is done (`match`), and kept in the results
store so that a rebuilt index can be applied to an unchanged file without reading it again.
Evidence holds digests under the EDM key and positions, never a value.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dlpscan.detect import compiled
from dlpscan.detect.scoring import Finding
from dlpscan.edm.errors import EdmError
from dlpscan.edm.keys import Digester
from dlpscan.model import Block, TableBlock

_MAGIC = b"EDMEV1"
_LENGTH = struct.Struct("<I")
_COLUMNS = (("digest", "<u8"), ("type_code", "u1"), ("block", "<u4"), ("place", "<u4"), ("table", "?"))


@dataclass(slots=True)
class Evidence:
    """Occurrence i: a value of type `types[type_code[i]]` with digest `digest[i]`, found in block
    `block[i]` of the document at `place[i]` (the row of a table block, the character offset in a
    text block; `table[i]` says which)."""

    key_id: str
    types: tuple[str, ...]
    digest: np.ndarray
    type_code: np.ndarray
    block: np.ndarray
    place: np.ndarray
    table: np.ndarray

    def __len__(self) -> int:
        return len(self.digest)

    def to_bytes(self) -> bytes:
        head = json.dumps({"key_id": self.key_id, "types": list(self.types), "n": len(self)}).encode()
        parts = [_MAGIC, _LENGTH.pack(len(head)), head]
        parts += [np.ascontiguousarray(getattr(self, n), dtype=t).tobytes() for n, t in _COLUMNS]
        return zlib.compress(b"".join(parts), 1)  # the digests do not compress: level 1 is enough

    @classmethod
    def from_bytes(cls, data: bytes) -> Evidence:
        try:
            raw = zlib.decompress(data)
            if not raw.startswith(_MAGIC):
                raise ValueError("magic")
            start = len(_MAGIC) + _LENGTH.size
            (length,) = _LENGTH.unpack_from(raw, len(_MAGIC))
            head = json.loads(raw[start : start + length])
            offset, n, arrays = start + length, head["n"], {}
            for name, dtype in _COLUMNS:
                arrays[name] = np.frombuffer(raw, dtype=dtype, count=n, offset=offset)
                offset += n * np.dtype(dtype).itemsize
        except (zlib.error, ValueError, KeyError, TypeError) as exc:
            raise EdmError(f"stored EDM evidence is damaged ({type(exc).__name__})") from None
        return cls(head["key_id"], tuple(head["types"]), **arrays)


class EvidenceCollector:
    """Collects the evidence of one document, block by block. Values are digested when the document
    is done, once per distinct value and in one batch per type (a finding costs a filter and an
    append while the document is read)."""

    def __init__(self, digester: Digester, types: Sequence[str]) -> None:
        self._digester = digester
        self._types = tuple(types)
        self._codes = {t: i for i, t in enumerate(self._types)}
        self._found: list[tuple[int, str]] = []  # (type code, normalised value): never leaves here
        self._places: list[int] = []
        self._blocks: list[tuple[int, int, bool]] = []  # (block number, occurrences, is a table)
        self._block = 0

    def add_block(self, findings: list[Finding], block: Block) -> None:
        is_table = isinstance(block, TableBlock)
        core = compiled.core()
        keep = core.edm_kept if core is not None else _kept
        kept = keep(findings, self._codes, self._found, self._places, is_table)
        if kept:
            self._blocks.append((self._block, kept, is_table))
        self._block += 1

    def evidence(self) -> Evidence:
        by_type: list[list[str]] = [[] for _ in self._types]
        for code, value in dict.fromkeys(self._found):
            by_type[code].append(value)
        digests: dict[tuple[int, str], bytes] = {}
        for code, values in enumerate(by_type):
            found = self._digester.value_digests(self._types[code], values)
            digests.update(zip(((code, v) for v in values), found, strict=True))
        blocks = np.array([b for b, _, _ in self._blocks], dtype="<u4")
        counts = np.array([n for _, n, _ in self._blocks], dtype=np.int64)
        tables = np.array([t for _, _, t in self._blocks], dtype="?")
        return Evidence(
            self._digester.key_id,
            self._types,
            np.frombuffer(b"".join([digests[f] for f in self._found]), dtype="<u8"),
            np.array([c for c, _ in self._found], dtype="u1"),
            np.repeat(blocks, counts),
            np.array(self._places, dtype="<u4"),
            np.repeat(tables, counts),
        )


def _kept(
    findings: list[Finding],
    codes: dict[str, int],
    found: list[tuple[int, str]],
    places: list[int],
    by_record: bool,
) -> int:
    """The findings of `codes`' types that are neither masked nor damaged: (type code, value) appended
    to `found`, the record (tables) or start (text) to `places`; how many (_core.edm_kept in Python)."""
    kept = 0
    for f in findings:
        code = codes.get(f.entity_type)
        if code is None or f.masked or f.damaged:
            continue
        found.append((code, f.value))
        places.append(f.record if by_record else f.start)
        kept += 1
    return kept
