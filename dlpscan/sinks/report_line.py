"""FileResult -> one report object (docs: shared report contract; extra fields are additive)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dlpscan.findings import confidence, shown_locations
from dlpscan.model import Access, FileResult, Fingerprints, Status


def report_line(result: FileResult, include_fingerprints: bool) -> dict[str, Any]:
    line: dict[str, Any] = {
        "path": result.path,
        "status": str(result.status),
        "media_type": result.media_type,
        "entities": {},
        "records": result.records,
        "flagged": result.flagged,
        "severity": result.severity,
        "rules": [{"policy": r.policy, "rule": r.rule, "severity": r.severity} for r in result.rules],
    }
    for etype, stats in result.entities.items():
        entry: dict[str, Any] = {"distinct": stats.distinct, "total": stats.total}
        if include_fingerprints and stats.fingerprints is not None:
            # a scan's `Fingerprints` stays one object (JSON writers: `files.report_json`); others a list
            fps = stats.fingerprints
            entry["fingerprints"] = fps if isinstance(fps, Fingerprints) else list(fps)
        entry["samples"] = stats.samples
        entry["confirmed"] = stats.confirmed
        entry["confidence"] = confidence(stats)
        if locations := shown_locations(stats):
            entry["locations"] = locations
        line["entities"][etype] = entry
    if result.categories:
        line["categories"] = {
            name: {"people": c.people, "records": c.records, "rows": c.rows, "basis": c.basis}
            for name, c in result.categories.items()
        }
    if result.status is Status.ERROR:
        line["error"] = result.error or "error"
    elif result.reason:
        line["reason"] = result.reason
    if result.masked:
        line["masked"] = {
            k: {"total": v.total, "noncompliant": v.noncompliant} for k, v in result.masked.items()
        }
    if result.notes:
        line["notes"] = result.notes
    if result.edm is not None:
        e = result.edm
        line["edm"] = {
            "index": e.index,
            "version": e.version,
            "rows": e.matched,
            "high": e.high,
            "medium": e.medium,
        }
    if result.is_container:
        line["container"] = True
    for name in ("size", "owner"):
        value = getattr(result, name)
        if value is not None:
            line[name] = value
    if result.mtime is not None:
        line["mtime"] = dt.datetime.fromtimestamp(result.mtime, dt.UTC).isoformat(timespec="seconds")
    if result.access is not None:
        line["exposure"] = exposure(result.access)
    line["risk"], line["risk_score"], line["stale"] = result.risk, result.risk_score, result.stale
    return line


def exposure(access: Access) -> dict[str, Any]:
    """Who can read a file, as report lines and SARIF results carry it (docs/exposure.md)."""
    out: dict[str, Any] = {"level": access.level, "principal": access.principal, "via": access.via}
    if access.readers is not None:
        out["readers"] = access.readers
    return out
