"""What the store holds, file by file, for `dlpscan db files`: filtered, most severe first, paged."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dlpscan.access import LEVELS
from dlpscan.entities import EntityTypes
from dlpscan.model import FileResult
from dlpscan.policy import SEVERITY_ORDER

from . import codec
from .db import chunks, one_of, read
from .exposure import UNKNOWN_OWNER
from .schema import category_counts, entity_counts, files, fingerprint_types, fingerprints, scan_files


@dataclass(slots=True)
class FileQuery:
    """Which files: all current (not deleted) ones, or those seen in `scan_id`; then the filters."""

    scan_id: int | None = None
    min_severity: str | None = None  # this severity or a worse one
    folders: tuple[str, ...] = ()  # under any of these folders (a path as typed and its absolute form)
    owner: str | None = None  # UNKNOWN_OWNER: files without a known owner
    flagged_only: bool = True
    min_exposure: str | None = None  # readable at least this widely (docs/exposure.md)
    by_risk: bool = False  # highest risk score first, instead of most severe first
    limit: int | None = None


class ListingMixin:
    _engine: Engine
    types: EntityTypes

    def find_files(self, query: FileQuery) -> tuple[list[FileResult], int]:
        """(the first `limit` matching files, most severe and most people first; how many match).

        The results carry counts, samples, locations and data categories but no fingerprints or digests.
        """
        where = [sa.not_(files.c.deleted)]
        if query.flagged_only:
            where.append(files.c.flagged)
        if query.min_severity is not None:
            where.append(files.c.severity.in_(SEVERITY_ORDER[SEVERITY_ORDER.index(query.min_severity) :]))
        if query.min_exposure is not None:
            where.append(files.c.access_level.in_(LEVELS[LEVELS.index(query.min_exposure) :]))
        if query.owner == UNKNOWN_OWNER:
            where.append(files.c.owner.is_(None))
        elif query.owner is not None:
            where.append(files.c.owner == query.owner)
        if query.folders:
            where.append(
                sa.or_(
                    *(
                        sa.or_(files.c.folder == f, files.c.folder.startswith(f + "/", autoescape=True))
                        for f in (f.rstrip("/") or "/" for f in query.folders)
                    )
                )
            )
        source = files
        if query.scan_id is not None:
            source = files.join(scan_files, scan_files.c.file_id == files.c.id)
            where.append(scan_files.c.scan_id == query.scan_id)
        person_keys = self.types.names(person_key=True)
        people = (
            sa.select(sa.func.max(entity_counts.c.n_distinct))
            .where(entity_counts.c.file_id == files.c.id, entity_counts.c.entity_type.in_(person_keys))
            .scalar_subquery()
        )
        rank = sa.case({s: i for i, s in enumerate(SEVERITY_ORDER)}, value=files.c.severity, else_=-1)
        with read(self._engine) as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(source).where(*where)).scalar_one()
            rows = (
                conn.execute(
                    sa.select(files)
                    .select_from(source)
                    .where(*where)
                    .order_by(
                        *([files.c.risk_score.desc()] if query.by_risk else []),
                        rank.desc(),
                        sa.func.coalesce(people, 0).desc(),
                        files.c.path,
                    )
                    .limit(query.limit)
                )
                .mappings()
                .all()
            )
            entities, categories = defaultdict(list), defaultdict(list)
            for ids in chunks(list(rows)):
                for e in conn.execute(
                    sa.select(entity_counts)
                    .where(one_of(conn, entity_counts.c.file_id, [r["id"] for r in ids]))
                    .order_by(entity_counts.c.file_id, entity_counts.c.entity_type)
                ).mappings():
                    entities[e["file_id"]].append(e)
                for c in conn.execute(
                    sa.select(category_counts)
                    .where(one_of(conn, category_counts.c.file_id, [r["id"] for r in ids]))
                    .order_by(category_counts.c.file_id, category_counts.c.category)
                ).mappings():
                    categories[c["file_id"]].append(c)
        return [
            codec.rebuild(
                r, entities[r["id"]], {}, categories=codec.rebuild_categories(categories[r["id"]], {})
            )
            for r in rows
        ], total

    def baseline_counts(self, scan_id: int) -> dict[str, dict[str, int]]:
        """Per file seen in the scan: the distinct values per entity type that scan recorded."""
        with read(self._engine) as conn:
            rows = conn.execute(
                sa.select(files.c.path, scan_files.c.counts)
                .join(scan_files, scan_files.c.file_id == files.c.id)
                .where(scan_files.c.scan_id == scan_id)
            )
            return {path: {t: c[0] for t, c in (counts or {}).items()} for path, counts in rows}

    def baseline_fingerprints(self, path: str, scan_id: int) -> dict[str, set[str]] | None:
        """The stored fingerprints of `path` per entity type while they are still the ones scan
        `scan_id` saw (no later scan read the file again); else None."""
        with read(self._engine) as conn:
            file_id = conn.execute(sa.select(files.c.id).where(files.c.path == path)).scalar()
            read_later = (
                sa.select(scan_files.c.file_id)
                .where(
                    scan_files.c.file_id == file_id,
                    scan_files.c.scan_id > scan_id,
                    sa.not_(scan_files.c.carried),
                )
                .exists()
            )
            if file_id is None or conn.execute(sa.select(read_later)).scalar():
                return None
            found: dict[str, set[str]] = defaultdict(set)
            stored = sa.select(fingerprint_types.c.entity_type, fingerprints.c.fp).join(
                fingerprint_types, fingerprint_types.c.id == fingerprints.c.type_id
            )
            for etype, fp in conn.execute(stored.where(fingerprints.c.file_id == file_id)):
                found[etype].add(codec.fp_from_db(fp))
            return dict(found)
