"""Remediation tracking: who decided what about a file, and on which version of it."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .db import read, write
from .schema import files, triage

TRIAGE_STATUSES = ("open", "resolved", "false-positive", "accepted")
# Decisions about the content itself: they lapse once the file changes.
VERSION_BOUND = ("false-positive",)

_CURRENT = sa.select(files.c.path, files.c.size, files.c.mtime, files.c.content_hash, files.c.deleted)


def _same_version(decided: Mapping[str, Any], current: Mapping[str, Any] | None) -> bool:
    """Content hash when both are known, else size and mtime. A deleted or unknown file never matches."""
    if current is None or current["deleted"]:
        return False
    if decided["content_hash"] and current["content_hash"]:
        return decided["content_hash"] == current["content_hash"]
    return (decided["size"], decided["mtime"]) == (current["size"], current["mtime"])


def _state(row: Mapping[str, Any], current: Mapping[str, Any] | None) -> dict:
    unchanged = _same_version(row, current)
    return {
        "path": row["path"],
        "status": row["status"],
        "note": row["note"],
        "who": row["who"],
        "at": row["at"],
        "version": {"size": row["size"], "mtime": row["mtime"], "content_hash": row["content_hash"]},
        "unchanged": unchanged,
        "applies": unchanged or row["status"] not in VERSION_BOUND,
    }


class TriageMixin:
    _engine: Engine

    def triage(self, path: str, status: str, note: str, who: str) -> None:
        """Record a decision on a path, with the file version it was made on (as last scanned).

        Notes are free text from a person: callers should not put personal data in them.
        """
        if status not in TRIAGE_STATUSES:
            raise ValueError(f"status must be one of {', '.join(TRIAGE_STATUSES)}")
        with write(self._engine) as conn:
            current = conn.execute(_CURRENT.where(files.c.path == path)).mappings().first()
            version = {k: current[k] if current else None for k in ("size", "mtime", "content_hash")}
            conn.execute(
                sa.insert(triage).values(
                    path=path, status=status, note=note, who=who, at=time.time(), **version
                )
            )

    def known_paths(self, paths: list[str]) -> list[str]:
        """Which of `paths` the store holds a file for, in the order given."""
        with read(self._engine) as conn:
            known = set(conn.execute(sa.select(files.c.path).where(files.c.path.in_(paths))).scalars())
        return [p for p in paths if p in known]

    def triage_state(self, path: str) -> dict | None:
        """The latest decision on a path, with `unchanged` (same file version) and `applies`.

        A false-positive applies only while the file is unchanged; other statuses always apply.
        """
        with read(self._engine) as conn:
            row = (
                conn.execute(
                    sa.select(triage).where(triage.c.path == path).order_by(triage.c.id.desc()).limit(1)
                )
                .mappings()
                .first()
            )
            if row is None:
                return None
            current = conn.execute(_CURRENT.where(files.c.path == path)).mappings().first()
        return _state(row, current)

    def triage_all(self) -> list[dict]:
        """The latest decision of every triaged path (as `triage_state`), by path."""
        latest = sa.select(sa.func.max(triage.c.id)).group_by(triage.c.path).scalar_subquery()
        current = [c.label(f"cur_{c.name}") for c in _CURRENT.selected_columns]
        with read(self._engine) as conn:
            rows = (
                conn.execute(
                    sa.select(triage, *current)
                    .outerjoin(files, files.c.path == triage.c.path)
                    .where(triage.c.id.in_(latest))
                    .order_by(triage.c.path)
                )
                .mappings()
                .all()
            )
        return [
            _state(
                r, {c.name: r[f"cur_{c.name}"] for c in _CURRENT.selected_columns} if r["cur_path"] else None
            )
            for r in rows
        ]
