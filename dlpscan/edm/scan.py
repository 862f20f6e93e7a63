"""Exact data match while scanning: the index checked once, opened once per worker process.

`EdmSettings.open` runs before any file is read: a missing, damaged or foreign-key index stops the
scan with one message (exit 2). `EdmScanner` is built in each worker: the index is memory-mapped
once there, and each document gets an `EvidenceCollector` whose evidence is matched when the
document is done. `rematch` applies another build of the index to stored evidence (a refresh)
without reading the file again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dlpscan.edm.errors import EdmError
from dlpscan.edm.header import check_size, read_header
from dlpscan.edm.keys import Digester, key_id, load_key
from dlpscan.model import EdmMatch

if TYPE_CHECKING:
    from dlpscan.edm.evidence import EvidenceCollector


@dataclass(frozen=True, slots=True)
class EdmSettings:
    """What a worker needs to match documents against an index; picklable."""

    path: str
    key: bytes = field(repr=False)
    name: str
    version: str
    key_id: str
    schema_hash: str
    rows: int
    build_date: str
    types: tuple[str, ...]  # every type the schema indexes: the evidence collected

    @classmethod
    def open(
        cls, path: str, key_value: str | None, key_file: str | None, fingerprint_key: str | None = None
    ) -> EdmSettings:
        """Check the index and the key before a scan starts; EdmError (one line) when they do not fit."""
        key = load_key(key_value, key_file)
        if key is None:
            raise EdmError(
                "scanning with an EDM index needs its key: give --edm-key-file or set "
                "DLPSCAN_EDM_KEY_FILE (or edm_key_file in the config)"
            )
        if fingerprint_key and fingerprint_key.encode("utf-8") == key:
            raise EdmError("the EDM key must not be the fingerprint key")
        if not Path(path).is_file():
            raise EdmError(f"no such EDM index: {path}")
        h = read_header(Path(path))
        check_size(Path(path), h)  # a truncated copy is refused here, not in every worker
        mine = key_id(key)
        if h.key_id != mine:
            raise EdmError(
                f"{path} was built with another EDM key (key id {h.key_id}; the configured "
                f"EDM key has id {mine}): scan with the key the index was built with"
            )
        return cls(
            str(Path(path).resolve()),
            key,
            h.name,
            h.version,
            h.key_id,
            h.schema_hash,
            h.rows,
            h.build_date,
            h.types,
        )

    @property
    def evidence_tag(self) -> str:
        """What decides the evidence a file yields: the key and the types collected. Stored evidence
        with the same tag can be matched against any build of an index with this key and schema."""
        return f"edm:{self.key_id}:{','.join(self.types)}"

    def describe(self) -> dict:
        """The index version used, for the store and reports: never a value."""
        return {
            "name": self.name,
            "version": self.version,
            "key_id": self.key_id,
            "schema_hash": self.schema_hash,
            "rows": self.rows,
            "build_date": self.build_date,
        }


class EdmScanner:
    """Built once per worker: the index mapped, the digester's HMAC pads hashed. (numpy and the
    modules that use it are imported here: a scan without an index never loads them.)"""

    def __init__(self, settings: EdmSettings) -> None:
        from dlpscan.edm.index import EdmIndex

        self.index = EdmIndex(Path(settings.path))
        if self.index.header.version != settings.version:
            raise EdmError(f"{settings.path} was replaced while the scan started; run the scan again")
        self.digester = Digester(settings.key)

    def collector(self) -> EvidenceCollector:
        from dlpscan.edm.evidence import EvidenceCollector

        return EvidenceCollector(self.digester, self.index.header.types)

    def finish(self, collector: EvidenceCollector) -> EdmMatch:
        """The document's match, with its evidence serialised for the store (None when empty)."""
        from dlpscan.edm.match import match

        evidence = collector.evidence()
        result = match(evidence, self.index, self.digester)
        result.evidence = evidence.to_bytes() if len(evidence) else None
        return result

    def rematch(self, stored: bytes | None) -> EdmMatch:
        """Stored evidence (None: the file held no value of the schema's types) against this index."""
        from dlpscan.edm.evidence import Evidence
        from dlpscan.edm.match import match

        if stored is None:
            h = self.index.header
            return EdmMatch(h.name, h.version, h.key_id)
        evidence = Evidence.from_bytes(stored)
        if evidence.key_id != self.index.header.key_id:
            raise EdmError("stored EDM evidence was collected under another EDM key")
        result = match(evidence, self.index, self.digester)
        result.evidence = stored
        return result
