"""Cumulative exposure: distinct fingerprints across files, grouped in SQL; and the per-scan trend.

Scope is the files seen in one scan (default: the latest completed scan) that are not deleted,
with their current results. Distinct counts need a fingerprint key at scan time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dlpscan.access import UNKNOWN, rank
from dlpscan.entities import EntityTypes

from .codec import PEOPLE
from .db import read
from .schema import (
    category_counts,
    category_keys,
    edm_indexes,
    edm_rows,
    files,
    fingerprint_types,
    fingerprints,
    scan_files,
    scans,
)

UNKNOWN_OWNER = "(unknown)"
GROUPINGS = ("owner", "folder", "access")
ANY = "any"  # Exposure.categories: the people of all categories together


@dataclass(slots=True)
class Exposure:
    """Cumulative exposure of one owner or folder."""

    key: str
    files: int = 0
    flagged_files: int = 0
    people: int = 0
    per_type: dict[str, int] = field(default_factory=dict)  # entity type -> distinct fingerprints
    edm_rows: int = 0  # distinct master-list rows an exact data match found across the files
    edm_high: int = 0  # of those, rows found with a corroborating field in at least one file
    # legal data category -> (distinct people, distinct records) across the files; "any": all categories
    categories: dict[str, tuple[int, int]] = field(default_factory=dict)
    basis: dict[str, list[str]] = field(default_factory=dict)  # category -> what decided it, in any file

    def category_counts(self) -> dict[str, int]:
        """The policy count sources of the group's categories ('records:<c>', 'people:<c>', 'people:any')."""
        out = {}
        for name, (people, records) in self.categories.items():
            out[f"people:{name}"] = people
            if name != ANY:
                out[f"records:{name}"] = records
        return out


# One scan, or several (a scan and watch sessions) whose files are taken together.
Scope = int | Sequence[int]


def scope(conn: Connection, scan_id: Scope | None) -> Scope | None:
    """`scan_id`, or by default the latest completed scan (None if there is none)."""
    if scan_id is not None:
        return scan_id
    return conn.execute(sa.select(sa.func.max(scans.c.id)).where(scans.c.status == "completed")).scalar()


def in_scope(query: sa.Select, scan_id: Scope) -> sa.Select:
    """The query restricted to the (not deleted) files seen in the scan, or in any of the scans."""
    if isinstance(scan_id, int):
        return query.join(scan_files, scan_files.c.file_id == files.c.id).where(
            scan_files.c.scan_id == scan_id, sa.not_(files.c.deleted)
        )
    seen = sa.exists().where(scan_files.c.file_id == files.c.id, scan_files.c.scan_id.in_(list(scan_id)))
    return query.where(seen, sa.not_(files.c.deleted))


def count_people(conn: Connection, scan_id: Scope | None, types: EntityTypes) -> int:
    """Distinct people (lower bound) across all files of the scan: the largest distinct count among
    the person-key types (an ID, a mobile, a card each belong to one person)."""
    if scan_id is None:
        return 0
    query = in_scope(
        sa.select(sa.func.count(sa.distinct(fingerprints.c.fp)))
        .select_from(fingerprints)
        .join(files, files.c.id == fingerprints.c.file_id),
        scan_id,
    )
    # One query per type: grouping all types' rows by type first cost SQLite as much as counting them.
    numbers = dict(conn.execute(sa.select(fingerprint_types.c.entity_type, fingerprint_types.c.id)).all())
    per_type = (
        conn.execute(query.where(fingerprints.c.type_id == numbers[t])).scalar() or 0
        for t in types.names(person_key=True)
        if t in numbers
    )
    return max(per_type, default=0)


class ExposureMixin:
    _engine: Engine
    types: EntityTypes

    def exposure(self, by: str, scan_id: Scope | None = None, top: int | None = None) -> list[Exposure]:
        """Exposure per owner, per folder (of the outermost file), most people first; or per access
        (`public other`, `group group:hr`: who can read the files), widest first.

        `per_type` counts distinct fingerprints across all files of the group; `people` is the largest
        of those over the person-key types; `edm_rows` the distinct master rows matched (EDM).
        """
        if by not in GROUPINGS:
            raise ValueError(f"by must be one of {', '.join(GROUPINGS)}")
        key = {
            "owner": sa.func.coalesce(files.c.owner, UNKNOWN_OWNER),
            "folder": files.c.folder,
            "access": sa.func.coalesce(files.c.access_level, UNKNOWN, type_=sa.Text)
            + sa.literal(" ")
            + sa.func.coalesce(files.c.access_principal, "", type_=sa.Text),
        }[by]
        with read(self._engine) as conn:
            sid = scope(conn, scan_id)
            if sid is None:
                return []
            counts = conn.execute(
                in_scope(
                    sa.select(
                        key,
                        sa.func.count(),
                        sa.func.coalesce(sa.func.sum(sa.case((files.c.flagged, 1), else_=0)), 0),
                    ).select_from(files),
                    sid,
                ).group_by(key)
            ).all()
            distinct = conn.execute(
                in_scope(
                    sa.select(key, fingerprints.c.type_id, sa.func.count(sa.distinct(fingerprints.c.fp)))
                    .select_from(fingerprints)
                    .join(files, files.c.id == fingerprints.c.file_id),
                    sid,
                ).group_by(key, fingerprints.c.type_id)
            ).all()
            numbered = sa.select(fingerprint_types.c.id, fingerprint_types.c.entity_type)
            names = dict(conn.execute(numbered).all())
            per_type = [(group, names[number], n) for group, number, n in distinct]
            edm = conn.execute(
                in_scope(
                    sa.select(
                        key,
                        sa.func.count(sa.distinct(edm_rows.c.row_key)),
                        sa.func.count(sa.distinct(sa.case((edm_rows.c.high, edm_rows.c.row_key)))),
                    )
                    .select_from(edm_rows)
                    .join(files, files.c.id == edm_rows.c.file_id),
                    sid,
                ).group_by(key)
            ).all()
            categories = _category_totals(conn, key, sid)
        groups = {k: Exposure(key=k, files=n, flagged_files=int(flagged)) for k, n, flagged in counts}
        for k, etype, n in per_type:
            groups[k].per_type[etype] = n
        for k, rows, high in edm:
            groups[k].edm_rows, groups[k].edm_high = rows, high
        for k, (totals, basis) in categories.items():
            groups[k].categories, groups[k].basis = totals, basis
        for g in groups.values():
            g.people = self.types.people(g.per_type)

        def order(g: Exposure) -> tuple:
            widest = -rank(g.key.split(" ", 1)[0]) if by == "access" else 0
            return (widest, -g.people, -g.flagged_files, -g.files, g.key)

        ranked = sorted(groups.values(), key=order)
        return ranked[:top] if top is not None else ranked

    def category_exposure(self, scan_id: Scope | None = None) -> list[tuple[str, int, int, int]]:
        """Per legal data category across all files of the scan: (category, files, distinct people,
        distinct records), most records first."""
        with read(self._engine) as conn:
            sid = scope(conn, scan_id)
            if sid is None:
                return []
            return _by_category(conn, sid)

    def edm_indexes(self, scan_id: Scope | None = None) -> list[dict]:
        """The EDM index versions the files of a scan were matched with, newest build first, each with
        its name, key id, schema hash, row count, build date and the number of files matched with it."""
        with read(self._engine) as conn:
            sid = scope(conn, scan_id)
            if sid is None:
                return []
            used = conn.execute(
                in_scope(
                    sa.select(files.c.edm_version, sa.func.count()).where(files.c.edm_version.is_not(None)),
                    sid,
                ).group_by(files.c.edm_version)
            ).all()
            if not used:
                return []
            n = dict(used)
            rows = conn.execute(sa.select(edm_indexes).where(edm_indexes.c.version.in_(list(n)))).mappings()
            found = [dict(r) | {"files": n[r["version"]]} for r in rows]
        for r in found:
            del r["first_used"]
        return sorted(found, key=lambda r: (r["build_date"], r["version"]), reverse=True)

    def distinct_people(self, scan_id: Scope | None = None) -> int:
        """Distinct people (lower bound) across all files of a scan (default: latest completed)."""
        with read(self._engine) as conn:
            return count_people(conn, scope(conn, scan_id), self.types)

    def entity_history(self) -> list[dict]:
        """Per scan, oldest first: files seen, flagged (total and by severity), bytes, records, people.

        `people` is the snapshot taken when the scan finished (None while it runs).
        """
        flagged = sa.case((scan_files.c.flagged, 1), else_=0)
        with read(self._engine) as conn:
            totals = conn.execute(
                sa.select(
                    scans.c.id,
                    scans.c.kind,
                    scans.c.started,
                    scans.c.finished,
                    scans.c.status,
                    scans.c.people,
                    sa.func.count(scan_files.c.file_id),
                    sa.func.coalesce(sa.func.sum(flagged), 0),
                    sa.func.coalesce(sa.func.sum(scan_files.c.size), 0),
                    sa.func.coalesce(sa.func.sum(scan_files.c.records), 0),
                )
                .select_from(scans)
                .outerjoin(scan_files, scan_files.c.scan_id == scans.c.id)
                .group_by(scans.c.id)
                .order_by(scans.c.id)
            ).all()
            severities = conn.execute(
                sa.select(scan_files.c.scan_id, scan_files.c.severity, sa.func.count())
                .where(scan_files.c.flagged)
                .group_by(scan_files.c.scan_id, scan_files.c.severity)
            ).all()
        by_severity: dict[int, dict[str, int]] = {}
        for sid, severity, n in severities:
            by_severity.setdefault(sid, {})[severity] = n
        return [
            {
                "scan_id": sid,
                "kind": kind,
                "started": started,
                "finished": finished,
                "status": status,
                "files": n,
                "flagged": int(n_flagged),
                "flagged_by_severity": by_severity.get(sid, {}),
                "bytes": int(n_bytes),
                "records": int(n_records),
                "people": people,
            }
            for sid, kind, started, finished, status, people, n, n_flagged, n_bytes, n_records in totals
        ]


def _category_totals(
    conn: Connection, key: sa.ColumnElement, sid: Scope
) -> dict[str, tuple[dict[str, tuple[int, int]], dict[str, list[str]]]]:
    """Per group key: category -> (distinct people, distinct records), with ANY for all categories,
    and category -> the vocabulary words and pattern names that decided it in any of its files."""
    joined = sa.select().select_from(category_keys).join(files, files.c.id == category_keys.c.file_id)
    digests = sa.func.count(sa.distinct(category_keys.c.digest))
    per_category = conn.execute(
        in_scope(
            joined.add_columns(key, category_keys.c.category, category_keys.c.kind, digests),
            sid,
        ).group_by(key, category_keys.c.category, category_keys.c.kind)
    ).all()
    anyone = conn.execute(
        in_scope(joined.add_columns(key, digests), sid).where(category_keys.c.kind == PEOPLE).group_by(key)
    ).all()
    bases = conn.execute(
        in_scope(
            sa.select(key, category_counts.c.category, category_counts.c.basis)
            .select_from(category_counts)
            .join(files, files.c.id == category_counts.c.file_id),
            sid,
        )
    ).all()
    out: dict[str, tuple[dict[str, tuple[int, int]], dict[str, list[str]]]] = {}
    for k, category, kind, n in per_category:
        totals = out.setdefault(k, ({}, {}))[0]
        people, records = totals.get(category, (0, 0))
        totals[category] = (n, records) if kind == PEOPLE else (people, n)
    for k, n in anyone:
        out.setdefault(k, ({}, {}))[0][ANY] = (n, 0)
    for k, category, basis in bases:
        seen = out.setdefault(k, ({}, {}))[1].setdefault(category, [])
        seen.extend(b for b in basis if b not in seen)
    return out


def _by_category(conn: Connection, sid: Scope) -> list[tuple[str, int, int, int]]:
    joined = sa.select().select_from(category_keys).join(files, files.c.id == category_keys.c.file_id)
    rows = conn.execute(
        in_scope(
            joined.add_columns(
                category_keys.c.category,
                category_keys.c.kind,
                sa.func.count(sa.distinct(category_keys.c.digest)),
                sa.func.count(sa.distinct(category_keys.c.file_id)),
            ),
            sid,
        ).group_by(category_keys.c.category, category_keys.c.kind)
    ).all()
    totals: dict[str, list[int]] = {}
    for category, kind, n, n_files in rows:
        entry = totals.setdefault(category, [0, 0, 0])
        entry[0] = max(entry[0], n_files)
        entry[1 if kind == PEOPLE else 2] = n
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1][2], -kv[1][1], kv[0]))
    return [(name, f, p, r) for name, (f, p, r) in ranked]
