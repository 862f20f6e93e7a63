"""FileResult <-> table rows. The only place that decides what of a result is stored.

Guards against raw values reaching the database: fingerprints must be 64 hex characters (stored
as 32 bytes) and samples must be masked (contain '*'); a location that could hold a value is not
stored. Errors name the entity type, never the value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from dlpscan.findings import shown_locations
from dlpscan.model import (
    Access,
    CategoryStats,
    EdmMatch,
    EntityStats,
    FileResult,
    Fingerprints,
    MaskedStats,
    RuleHit,
    Status,
)

MEMBER_SEP = "!"
KEY_BYTES = 16  # category digests (dlpscan.aggregate.KEY_BYTES)
PEOPLE, RECORDS = "p", "r"  # category_keys.kind
_BASIS = re.compile(r"^(?:header|content|label|pattern):(?!.*\d{6}).{1,80}$")
MASK_CHAR = "*"
_STATUS = {s.value: s for s in Status}
_INODE_WRAP = 1 << 64  # st_ino is unsigned 64-bit; BIGINT is signed


def fp_from_db(fp: bytes) -> str:
    return bytes(fp).hex()


def fps_from_db(digests: Iterable[bytes]) -> Fingerprints:
    """Stored fingerprints of one file and type, read in ascending order."""
    return Fingerprints(b"".join(map(bytes, digests)))


def inode_to_db(inode: int | None) -> int | None:
    """st_ino and st_dev are unsigned 64-bit; BIGINT is signed."""
    return inode - _INODE_WRAP if inode is not None and inode >= 1 << 63 else inode


def inode_from_db(inode: int | None) -> int | None:
    return inode + _INODE_WRAP if inode is not None and inode < 0 else inode


def parent_of(path: str) -> str | None:
    """The containing archive of an archive member ('a.zip!b/c.csv' -> 'a.zip'), else None."""
    return path.rsplit(MEMBER_SEP, 1)[0] if MEMBER_SEP in path else None


def folder_of(path: str) -> str:
    """Directory of the file, or of the outermost archive for members; '.' when none."""
    return os.path.dirname(path.split(MEMBER_SEP, 1)[0]) or "."


def _check_samples(entity_type: str, samples: list[str]) -> list[str]:
    if any(MASK_CHAR not in s for s in samples):
        raise ValueError(f"{entity_type}: a sample is not masked; not stored")
    return list(samples)


def file_values(result: FileResult, content_hash: str | None) -> dict[str, Any]:
    """Columns of `files` taken from the result (bookkeeping columns are added by the caller)."""
    return {
        "path": result.path,
        "parent": parent_of(result.path),
        "folder": folder_of(result.path),
        "owner": result.owner,
        "size": result.size,
        "mtime": result.mtime,
        "inode": inode_to_db(result.inode),
        "device": inode_to_db(result.device),
        "content_hash": content_hash,
        "status": str(result.status),
        "media_type": result.media_type,
        "records": result.records,
        "flagged": result.flagged,
        "severity": result.severity,
        "error": result.error,
        "reason": result.reason,
        "is_container": result.is_container,
        # empty -> NULL: most files have none, and NULL costs no JSON parsing on the way back
        "masked": {k: [m.total, m.noncompliant] for k, m in result.masked.items()} or None,
        "rules": [[r.policy, r.rule, r.severity, r.scope] for r in result.rules] or None,
        "notes": dict(result.notes) or None,
        "edm_version": result.edm.version if result.edm is not None else None,
        "edm_high": result.edm.high if result.edm is not None else None,
        "edm_medium": result.edm.medium if result.edm is not None else None,
        **access_values(result),
    }


def assessment_values(result: FileResult) -> dict[str, Any]:
    """What a permission change alone can change (`Store.reassess`): access, risk, staleness, and
    the decision when the policy depends on exposure."""
    return {
        "flagged": result.flagged,
        "severity": result.severity,
        "rules": [[r.policy, r.rule, r.severity, r.scope] for r in result.rules] or None,
        **access_values(result),
    }


def access_values(result: FileResult) -> dict[str, Any]:
    """The columns of who can read the file, its risk and staleness."""
    a = result.access
    return {
        "access_level": a.level if a else None,
        "access_principal": a.principal if a else None,
        "access_readers": a.readers if a else None,
        "access_via": a.via if a else None,
        "risk": result.risk,
        "risk_score": result.risk_score,
        "stale": result.stale,
    }


def scan_file_values(result: FileResult) -> dict[str, Any]:
    """Columns of `scan_files`: the per-scan summary kept for history."""
    return {
        "status": str(result.status),
        "flagged": result.flagged,
        "severity": result.severity,
        "records": result.records,
        "size": result.size,
        "counts": {k: [e.distinct, e.total] for k, e in result.entities.items()},
        "carried": False,
    }


def entity_rows(file_id: int, result: FileResult) -> list[dict[str, Any]]:
    return [
        {
            "file_id": file_id,
            "entity_type": etype,
            "n_distinct": stats.distinct,
            "n_total": stats.total,
            "fingerprinted": stats.fingerprints is not None,
            "samples": _check_samples(etype, stats.samples),
            "confirmed": stats.confirmed,
            "locations": shown_locations(stats) or None,
        }
        for etype, stats in result.entities.items()
    ]


def fingerprint_groups(file_id: int, result: FileResult) -> list[tuple[int, str, bytes]]:
    """(file_id, entity_type, distinct 32-byte fingerprints in ascending order, concatenated) per
    fingerprinted type: the rows of `fingerprints` grouped, as bulk loading wants them (the key's
    order). A scan's `Fingerprints` are taken as they are; other sequences are checked as hex."""
    groups = []
    for etype, stats in result.entities.items():
        if isinstance(stats.fingerprints, Fingerprints):
            digests = stats.fingerprints.digests
        elif stats.fingerprints:
            digests = b"".join(sorted(set(fps_to_db(list(stats.fingerprints), etype))))
        else:
            continue
        if digests:
            groups.append((file_id, etype, digests))
    return groups


def fps_to_db(fps: list[str], entity_type: str) -> list[bytes]:
    """Hex HMAC-SHA256s -> 32 bytes each; anything else is refused (it might be a raw value). One hex
    decode of them all (whitespace, which fromhex skips, fails the length check)."""
    try:
        if fps and set(map(len, fps)) != {64}:
            raise ValueError
        raw = bytes.fromhex("".join(fps))  # TypeError for anything not a string
    except (TypeError, ValueError):
        raw = b""
    if len(raw) != 32 * len(fps):
        raise ValueError(f"{entity_type}: a fingerprint is not 64 hex characters; not stored")
    return [raw[i : i + 32] for i in range(0, len(raw), 32)]


def category_rows(file_id: int, result: FileResult) -> list[dict[str, Any]]:
    """Rows of `category_counts`; a basis entry that is not a vocabulary word or a pattern name (or
    holds a run of six digits, as values do) is refused, naming the category only."""
    out = []
    for name, c in result.categories.items():
        if not all(_BASIS.match(b) for b in c.basis):
            raise ValueError(
                f"category {name}: a basis entry is not a header word or a pattern name; not stored"
            )
        out.append(
            {
                "file_id": file_id,
                "category": name,
                "n_people": c.people,
                "n_records": c.records,
                "n_rows": c.rows,
                "basis": list(c.basis),
            }
        )
    return out


def category_key_rows(file_id: int, result: FileResult) -> list[tuple[int, str, str, bytes]]:
    """(file_id, category, kind, digest) tuples, in the column order of `category_keys`."""
    out = []
    for name, c in result.categories.items():
        for kind, keys in ((PEOPLE, c.people_keys), (RECORDS, c.record_keys)):
            if len(keys) % KEY_BYTES:
                raise ValueError(f"category {name}: keys are not {KEY_BYTES}-byte digests; not stored")
            out += [(file_id, name, kind, keys[i : i + KEY_BYTES]) for i in range(0, len(keys), KEY_BYTES)]
    return out


def rebuild_categories(
    counts: Iterable[Mapping[str, Any]], keys: Mapping[tuple[str, str], list[bytes]]
) -> dict[str, CategoryStats]:
    """CategoryStats from `category_counts` rows and the file's digests by (category, kind)."""
    return {
        c["category"]: CategoryStats(
            people=c["n_people"],
            records=c["n_records"],
            rows=c["n_rows"],
            basis=list(c["basis"]),
            people_keys=b"".join(sorted(keys.get((c["category"], PEOPLE), ()))),
            record_keys=b"".join(sorted(keys.get((c["category"], RECORDS), ()))),
        )
        for c in counts
    }


def edm_row_tuples(file_id: int, match: EdmMatch | None) -> list[tuple[int, bytes, bool]]:
    """(file_id, row_key, high) tuples of `edm_rows`: 8-byte keyed row keys, nothing else."""
    if match is None or not match.row_keys:
        return []
    if len(match.row_keys) % 8 or len(match.high_keys) % 8:
        raise ValueError("EDM row keys are not 8-byte digests; not stored")
    high = {match.high_keys[i : i + 8] for i in range(0, len(match.high_keys), 8)}
    keys = (match.row_keys[i : i + 8] for i in range(0, len(match.row_keys), 8))
    return [(file_id, k, k in high) for k in keys]


def edm_of(row: Mapping[str, Any], index: Mapping[str, Any] | None) -> EdmMatch | None:
    """The stored match counts (row keys and evidence are read only where needed)."""
    if row["edm_version"] is None:
        return None
    return EdmMatch(
        index=index["name"] if index else "",
        version=row["edm_version"],
        key_id=index["key_id"] if index else "",
        high=row["edm_high"] or 0,
        medium=row["edm_medium"] or 0,
    )


def rebuild(
    row: Mapping[str, Any],
    entities: Iterable[Mapping[str, Any]],
    fps: Mapping[str, Fingerprints],
    edm_index: Mapping[str, Any] | None = None,
    categories: Mapping[str, CategoryStats] | None = None,
) -> FileResult:
    """A FileResult from stored rows. Fingerprint lists come back sorted."""
    return FileResult(
        path=row["path"],
        status=_STATUS[row["status"]],
        media_type=row["media_type"],
        entities={
            e["entity_type"]: EntityStats(
                distinct=e["n_distinct"],
                total=e["n_total"],
                fingerprints=fps.get(e["entity_type"], Fingerprints()) if e["fingerprinted"] else None,
                samples=list(e["samples"]),
                confirmed=e["confirmed"],
                locations=list(e["locations"] or ()),
            )
            for e in entities
        },
        masked={k: MaskedStats(total=t, noncompliant=n) for k, (t, n) in (row["masked"] or {}).items()},
        records=row["records"],
        flagged=row["flagged"],
        severity=row["severity"],
        rules=[RuleHit(*r) for r in row["rules"] or ()],
        error=row["error"],
        content_hash=row["content_hash"],
        reason=row["reason"],
        size=row["size"],
        mtime=row["mtime"],
        owner=row["owner"],
        inode=inode_from_db(row["inode"]),
        device=inode_from_db(row["device"]),
        is_container=row["is_container"],
        notes=dict(row["notes"] or {}),
        edm=edm_of(row, edm_index),
        access=(
            Access(row["access_level"], row["access_principal"], row["access_readers"], row["access_via"])
            if row["access_level"] is not None
            else None
        ),
        risk=row["risk"],
        risk_score=row["risk_score"],
        stale=row["stale"],
        categories=dict(categories or {}),
    )
