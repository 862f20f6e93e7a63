"""Report lines of a walked file: its facts, its store keys, and whether a stored result still holds.

Shared by the batch scan and the watch daemon. A file's report lines carry the path as reached from
the root the user typed; the store keeps them under the file's key (`walk.Entry.key`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from dlpscan.model import FileResult, Status
from dlpscan.policy import Policy, evaluate
from dlpscan.policy.risk import rate
from dlpscan.settings import file_sha256
from dlpscan.store import StoredFile
from dlpscan.walk import Entry


def entry_result(entry: Entry, status: Status, reason: str) -> FileResult:
    """The line of a file that is not read (cannot be stat'ed, too large, not a regular file)."""
    result = FileResult(
        entry.display,
        status,
        size=entry.size or None,
        owner=entry.owner,
        inode=entry.inode or None,
        device=entry.device or None,
    )
    result.mtime = entry.mtime or None
    result.access = entry.access
    if status is Status.ERROR:
        result.error = reason
    else:
        result.reason = reason
    return result


def stamp(results: list[FileResult], entry: Entry) -> None:
    """Filesystem facts of the top-level file on every line it produced (members inherit owner/mtime)."""
    for r in results:
        r.owner = entry.owner
        r.mtime = entry.mtime
        r.access = entry.access
        top = r.path in (entry.display, entry.key)
        r.inode = entry.inode if top else None
        r.device = entry.device if top else None
        if top:
            r.size = entry.size


def assess(results: list[FileResult], policy: Policy, stale_days: int, now: float) -> None:
    """Decide what depends on who can read a file: the policy again when a rule has `min_exposure`
    (the workers decide without it), then risk and staleness."""
    for r in results:
        if policy.uses_exposure and not r.is_container:
            r.flagged, r.severity, r.rules = evaluate(policy, r)
        rate(r, now, stale_days)


def reassessed(stored: StoredFile, lines: list[FileResult]) -> bool:
    """Whether the assessed lines of an unchanged file differ from what the store holds for it (a
    chmod or setfacl, a folder's permissions, a file turning stale), so the store must be updated."""
    kept = [stored.result, *(m.result for m in stored.members)]
    return any(
        (a.access, a.risk, a.risk_score, a.stale, a.flagged, a.severity, a.rules)
        != (b.access, b.risk, b.risk_score, b.stale, b.flagged, b.severity, b.rules)
        for a, b in zip(kept, lines, strict=True)
    )


def keyed(results: list[FileResult], entry: Entry) -> list[FileResult]:
    """The lines as the store keeps them: under the file's key instead of its report path."""
    if entry.key == entry.display:
        return results
    return [replace(r, path=entry.key + r.path[len(entry.display) :]) for r in results]


def reported(stored: StoredFile, entry: Entry) -> list[FileResult]:
    """A stored file and its archive members as report lines, under the path as reached from the root."""
    lines = [stored.result] + [m.result for m in stored.members]
    lines = [replace(r, path=entry.display + r.path[len(entry.key) :]) for r in lines]
    stamp(lines, entry)
    return lines


def unchanged(
    stored: StoredFile, entry: Entry, detector_version: str, policy_version: str, content_hash: bool
) -> bool:
    """Same size, mtime, inode and device, read by the same recognizers and policy (and the same
    bytes, if asked). An archive counts as unchanged when it and all its members were read fully."""
    lines = [stored, *stored.members]
    return (
        not stored.deleted
        and stored.size == entry.size
        and stored.mtime == entry.mtime
        and stored.inode == entry.inode
        and stored.device in (None, entry.device)  # None: stored before devices were
        and stored.detector_version == detector_version
        and stored.policy_version == policy_version
        and all(s.result.status is Status.SCANNED for s in lines)
        and (not stored.result.is_container or bool(stored.members))
        and (
            not content_hash
            or (stored.content_hash is not None and stored.content_hash == file_sha256(Path(entry.path)))
        )
    )
