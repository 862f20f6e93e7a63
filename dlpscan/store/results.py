"""Scans and per-file results: recording, carrying unchanged files forward, reading them back."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dlpscan.entities import EntityTypes
from dlpscan.model import FileResult

from . import codec
from .db import (
    bulk_insert,
    chunks,
    insert_fingerprints,
    one_of,
    read,
    refresh_statistics,
    type_numbers,
    write,
)
from .exposure import Scope, count_people, in_scope, scope
from .schema import (
    category_counts,
    category_keys,
    edm_evidence,
    edm_indexes,
    edm_rows,
    entity_counts,
    files,
    fingerprint_types,
    fingerprints,
    scan_files,
    scans,
    triage,
)

SCAN_KINDS = ("scan", "watch")
FINISH_STATUSES = ("completed", "interrupted", "failed")
INCOMPLETE = ("running", "interrupted")
PAGE = 500


@dataclass(slots=True)
class StoredFile:
    """The latest stored state of a path: what the incremental check compares, and the result to reuse."""

    path: str
    size: int | None
    mtime: float | None
    inode: int | None
    device: int | None  # None: stored before migration 0004 (see `Store.adopt`)
    content_hash: str | None
    detector_version: str | None
    policy_version: str | None
    last_scan_id: int
    deleted: bool
    result: FileResult
    members: list[StoredFile] = field(default_factory=list)  # of an archive, nested ones included


def _roots_key(roots: Sequence[str]) -> str:
    return json.dumps(sorted(roots), ensure_ascii=False)


def _choose(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}")
    return value


class ResultsMixin:
    _engine: Engine
    types: EntityTypes

    # ---- scans -------------------------------------------------------------------------------

    def begin_scan(
        self,
        roots: list[str],
        *,
        policy: str,
        policy_version: str,
        detector_version: str,
        options: dict,
        kind: str = "scan",
        edm: dict | None = None,
    ) -> int:
        """Start a scan (kind `scan` or `watch`) and return its id; status is `running` until finished.

        `edm`: the EDM index used (`EdmSettings.describe()`), kept in `edm_indexes` and the options."""
        values = {
            "kind": _choose(kind, SCAN_KINDS, "kind"),
            "roots": list(roots),
            "roots_key": _roots_key(roots),
            "started": time.time(),
            "status": "running",
            "policy": policy,
            "policy_version": policy_version,
            "detector_version": detector_version,
            "options": options | ({"edm": edm["version"]} if edm else {}),
        }
        with write(self._engine) as conn:
            if edm is not None:
                known = sa.select(edm_indexes.c.version).where(edm_indexes.c.version == edm["version"])
                if conn.execute(known).first() is None:
                    conn.execute(sa.insert(edm_indexes).values(edm | {"first_used": values["started"]}))
            return conn.execute(sa.insert(scans).values(values).returning(scans.c.id)).scalar_one()

    def finish_scan(self, scan_id: int, *, status: str, stats: dict, people: int | None = None) -> None:
        """Close a scan (completed, interrupted or failed); snapshots its distinct people for the trend,
        counted here unless the caller counted them (`count_people` of this scan, as it is stored)."""
        _choose(status, FINISH_STATUSES, "status")
        with write(self._engine) as conn:
            if people is None:
                people = count_people(conn, scan_id, self.types)
            conn.execute(
                sa.update(scans)
                .where(scans.c.id == scan_id)
                .values(status=status, stats=stats, finished=time.time(), people=people)
            )
            refresh_statistics(conn)

    def last_incomplete_scan(self, roots: list[str]) -> int | None:
        """The newest `scan` over exactly these roots, if it is running or interrupted (for --resume).

        A scan whose process was killed stays `running`; whether it is still alive is the caller's call.
        """
        with read(self._engine) as conn:
            row = conn.execute(
                sa.select(scans.c.id, scans.c.status)
                .where(scans.c.roots_key == _roots_key(roots), scans.c.kind == "scan")
                .order_by(scans.c.id.desc())
                .limit(1)
            ).first()
        return row.id if row is not None and row.status in INCOMPLETE else None

    def scan(self, scan_id: int) -> dict | None:
        """One scan, as `scans` describes it."""
        with read(self._engine) as conn:
            rows = conn.execute(sa.select(scans).where(scans.c.id == scan_id)).mappings().all()
        return next(iter(self._scan_dicts(rows)), None)

    def scans(self, limit: int | None = None) -> list[dict]:
        """Scans, newest first."""
        with read(self._engine) as conn:
            rows = conn.execute(sa.select(scans).order_by(scans.c.id.desc()).limit(limit)).mappings().all()
        return self._scan_dicts(rows)

    @staticmethod
    def _scan_dicts(rows: Sequence[Mapping[str, Any]]) -> list[dict]:
        return [
            {
                "id": r["id"],
                "kind": r["kind"],
                "roots": r["roots"],
                "started": r["started"],
                "finished": r["finished"],
                "status": r["status"],
                "stats": r["stats"],
                "policy": r["policy"],
                "versions": {"policy": r["policy_version"], "detector": r["detector_version"]},
                "options": r["options"],
                "people": r["people"],
            }
            for r in rows
        ]

    # ---- files -------------------------------------------------------------------------------

    def record_results(self, scan_id: int, results: list[FileResult]) -> None:
        """Store results seen by a scan, in one transaction (a killed scan leaves whole files only).

        Replaces the current state of each path (entity counts, fingerprints) and its row for this scan.
        Raises ValueError, naming only the entity type, if a fingerprint is not hex or a sample is unmasked.
        """
        latest = {r.path: r for r in results}
        now = time.time()
        with write(self._engine) as conn:
            scan = conn.execute(
                sa.select(scans.c.detector_version, scans.c.policy_version).where(scans.c.id == scan_id)
            ).first()
            if scan is None:
                raise ValueError(f"no scan with id {scan_id}")
            bookkeeping = {
                "detector_version": scan.detector_version,
                "policy_version": scan.policy_version,
                "last_scan_id": scan_id,
                "last_seen": now,
                "deleted": False,
                "deleted_at": None,
            }
            for paths in chunks(list(latest), PAGE):
                known = self._file_ids(conn, paths)
                rows = {p: codec.file_values(latest[p], latest[p].content_hash) | bookkeeping for p in paths}
                updates = [rows[p] | {"b_id": known[p]} for p in paths if p in known]
                if updates:
                    conn.execute(sa.update(files).where(files.c.id == sa.bindparam("b_id")), updates)
                new = [rows[p] for p in paths if p not in known]
                ids = known | (self._insert_files(conn, new) if new else {})
                by_id = {ids[p]: latest[p] for p in paths}
                self._replace_details(conn, scan_id, by_id, list(known.values()))

    def _insert_files(self, conn: Connection, rows: list[dict[str, Any]]) -> dict[str, int]:
        conn.execute(sa.insert(files), rows)
        return self._file_ids(conn, [r["path"] for r in rows])

    @staticmethod
    def _file_ids(conn: Connection, paths: list[str]) -> dict[str, int]:
        return dict(
            conn.execute(sa.select(files.c.path, files.c.id).where(one_of(conn, files.c.path, paths))).all()
        )

    @staticmethod
    def _replace_details(
        conn: Connection, scan_id: int, by_id: dict[int, FileResult], known: list[int]
    ) -> None:
        """Write the details of each file, first removing what `known` (previously stored) files had."""
        ents, fps, seen, rows, evidence, cats, cat_keys = [], [], [], [], [], [], []
        for file_id, result in by_id.items():
            ents += codec.entity_rows(file_id, result)
            fps += codec.fingerprint_groups(file_id, result)
            seen.append({"scan_id": scan_id, "file_id": file_id} | codec.scan_file_values(result))
            rows += codec.edm_row_tuples(file_id, result.edm)
            if result.edm is not None and result.edm.evidence is not None:
                evidence.append({"file_id": file_id, "evidence": result.edm.evidence})
            cats += codec.category_rows(file_id, result)
            cat_keys += codec.category_key_rows(file_id, result)
        if known:
            for table in (
                entity_counts,
                fingerprints,
                edm_rows,
                edm_evidence,
                category_counts,
                category_keys,
            ):
                conn.execute(sa.delete(table).where(one_of(conn, table.c.file_id, known)))
            conn.execute(
                sa.delete(scan_files).where(
                    scan_files.c.scan_id == scan_id, one_of(conn, scan_files.c.file_id, known)
                )
            )
        for table, values in (
            (entity_counts, ents),
            (scan_files, seen),
            (edm_evidence, evidence),
            (category_counts, cats),
        ):
            if values:
                conn.execute(sa.insert(table), values)
        numbers = type_numbers(conn, fingerprint_types, (etype for _, etype, _ in fps))
        numbered = sorted((f, numbers[etype], digests) for f, etype, digests in fps)  # in the key's order
        insert_fingerprints(conn, fingerprints, numbered)
        bulk_insert(conn, edm_rows, rows)
        bulk_insert(conn, category_keys, cat_keys)

    def paths_done(self, scan_id: int) -> dict[str, bool]:
        """Paths already recorded (or carried forward) in this scan, for --resume: path -> carried."""
        with read(self._engine) as conn:
            return dict(
                conn.execute(
                    sa.select(files.c.path, scan_files.c.carried)
                    .join(scan_files, scan_files.c.file_id == files.c.id)
                    .where(scan_files.c.scan_id == scan_id)
                ).all()
            )

    def previous(self, path: str) -> StoredFile | None:
        """The latest stored state of one path (see `previous_many`)."""
        return self.previous_many([path]).get(path)

    def previous_many(self, paths: list[str]) -> dict[str, StoredFile]:
        """Latest stored state of each known path (deleted ones included, flagged `deleted`); an
        archive comes with its members as its last reading recorded them, in path order.

        Batched: a few indexed queries per 500 paths.
        """
        found: dict[str, StoredFile] = {}
        for chunk in chunks(list(dict.fromkeys(paths)), PAGE):
            with read(self._engine) as conn:
                rows = (
                    conn.execute(sa.select(files).where(one_of(conn, files.c.path, chunk))).mappings().all()
                )
                loaded = self._load(conn, rows)
                self._add_members(conn, [f for f in loaded.values() if f.result.is_container])
                found |= loaded
        return found

    def _add_members(self, conn: Connection, containers: list[StoredFile]) -> None:
        """Fill `members` of archives: the rows their last reading recorded (same scan), level by level."""
        level = {c.path: c for c in containers}
        owner = {c.path: c for c in containers}  # any container -> the top-level archive it is in
        while level:
            rows = []
            for chunk in chunks(list(level), PAGE):
                query = sa.select(files).where(one_of(conn, files.c.parent, chunk))
                rows += conn.execute(query).mappings().all()
            rows = [r for r in rows if r["last_scan_id"] == owner[r["parent"]].last_scan_id]
            children = self._load(conn, rows) if rows else {}
            next_level = {}
            for r in rows:
                child, top = children[r["path"]], owner[r["parent"]]
                top.members.append(child)
                if child.result.is_container:
                    next_level[child.path] = child
                    owner[child.path] = top
            level = next_level
        for c in containers:
            c.members.sort(key=lambda m: m.path)

    def edm_evidence(self, paths: list[str]) -> dict[str, bytes]:
        """The stored EDM evidence of these paths (keyed digests and positions; see docs/edm.md).
        A path scanned with an index but absent here held no value of the index's types."""
        found: dict[str, bytes] = {}
        for chunk in chunks(list(dict.fromkeys(paths)), PAGE):
            with read(self._engine) as conn:
                rows = conn.execute(
                    sa.select(files.c.path, edm_evidence.c.evidence)
                    .join(edm_evidence, edm_evidence.c.file_id == files.c.id)
                    .where(one_of(conn, files.c.path, chunk))
                ).all()
            found |= {path: bytes(data) for path, data in rows}
        return found

    def has_unadopted(self) -> bool:
        """Whether files stored before migration 0004 (under the path as typed) may wait for `adopt`."""
        with read(self._engine) as conn:
            legacy = sa.select(files.c.id).where(
                files.c.device.is_(None), files.c.inode.is_not(None), files.c.parent.is_(None)
            )
            return conn.execute(legacy.limit(1)).first() is not None

    def adopt(self, keys: dict[str, str]) -> None:
        """Re-key files stored before migration 0004 under the path as typed (old -> resolved key):
        the row, its archive members and its triage decisions. The caller has checked that the file
        there is the same one (inode, size and mtime)."""
        with write(self._engine) as conn:
            for old, new in keys.items():
                if conn.execute(sa.select(files.c.id).where(files.c.path == new)).first() is not None:
                    continue  # the resolved key is taken already: the old row stays history
                inside = files.c.path.startswith(old + codec.MEMBER_SEP, autoescape=True)
                rows = conn.execute(
                    sa.select(files.c.id, files.c.path, files.c.parent).where(
                        sa.or_(files.c.path == old, inside)
                    )
                ).all()
                moved = [
                    {
                        "b_id": row.id,
                        "path": new + row.path[len(old) :],
                        "parent": None if row.parent is None else new + row.parent[len(old) :],
                        "folder": codec.folder_of(new + row.path[len(old) :]),
                    }
                    for row in rows
                ]
                conn.execute(sa.update(files).where(files.c.id == sa.bindparam("b_id")), moved)
                conn.execute(sa.update(triage).where(triage.c.path == old).values(path=new))

    def reassess(self, scan_id: int, results: list[FileResult]) -> None:
        """Store what changed of unchanged files that were not read again: who can read them, their
        risk and staleness, and the policy decision that depends on them (docs/exposure.md). Counts,
        fingerprints and EDM matches stay as stored; the files count as carried forward in this scan."""
        now = time.time()
        with write(self._engine) as conn:
            for chunk in chunks(results, PAGE):
                ids = self._file_ids(conn, [r.path for r in chunk])
                found = [r for r in chunk if r.path in ids]
                if not found:
                    continue
                moved = {"last_scan_id": scan_id, "last_seen": now, "deleted": False, "deleted_at": None}
                conn.execute(
                    sa.update(files).where(files.c.id == sa.bindparam("b_id")),
                    [codec.assessment_values(r) | moved | {"b_id": ids[r.path]} for r in found],
                )
                conn.execute(
                    sa.delete(scan_files).where(
                        scan_files.c.scan_id == scan_id,
                        one_of(conn, scan_files.c.file_id, list(ids.values())),
                    )
                )
                seen = [
                    {"scan_id": scan_id, "file_id": ids[r.path]} | codec.scan_file_values(r) for r in found
                ]
                conn.execute(sa.insert(scan_files), [s | {"carried": True} for s in seen])

    def carry_forward(self, scan_id: int, paths: list[str]) -> None:
        """Mark unchanged files as seen in this scan: copies their last per-scan summary, nothing else."""
        now = time.time()
        sf = scan_files
        cols = ["scan_id", "file_id", "status", "flagged", "severity", "records", "size", "counts", "carried"]
        with write(self._engine) as conn:
            for chunk in chunks(list(dict.fromkeys(paths)), PAGE):
                source = (
                    sa.select(
                        sa.literal(scan_id),
                        sf.c.file_id,
                        sf.c.status,
                        sf.c.flagged,
                        sf.c.severity,
                        sf.c.records,
                        sf.c.size,
                        sf.c.counts,
                        sa.true(),
                    )
                    .join(files, sa.and_(files.c.id == sf.c.file_id, files.c.last_scan_id == sf.c.scan_id))
                    .where(one_of(conn, files.c.path, chunk), files.c.last_scan_id != scan_id)
                )
                conn.execute(sa.insert(sf).from_select(cols, source))
                conn.execute(
                    sa.update(files)
                    .where(one_of(conn, files.c.path, chunk))
                    .values(last_scan_id=scan_id, last_seen=now, deleted=False, deleted_at=None)
                )

    def mark_deleted(self, path: str, when: float) -> None:
        """Mark a path deleted, with its archive members (`path!…`) and anything under it as a folder."""
        scope = sa.or_(
            files.c.path == path,
            files.c.path.startswith(path + codec.MEMBER_SEP, autoescape=True),
            files.c.path.startswith(path.rstrip("/") + "/", autoescape=True),
        )
        with write(self._engine) as conn:
            conn.execute(
                sa.update(files).where(scope, sa.not_(files.c.deleted)).values(deleted=True, deleted_at=when)
            )

    def present_under(self, folder: str, after: str, limit: int) -> list[tuple[str, bool]]:
        """(path, is_container) of the files (not archive members) stored as present below `folder`,
        in path order after `after`: one page of the comparison with what is on disk."""
        below = folder.rstrip("/") + "/"
        query = (
            sa.select(files.c.path, files.c.is_container)
            .where(
                files.c.path > max(below, after),
                files.c.path < below[:-1] + "0",  # "0" follows "/": the range of `folder/...` keys
                files.c.parent.is_(None),
                sa.not_(files.c.deleted),
            )
            .order_by(files.c.path)
            .limit(limit)
        )
        with read(self._engine) as conn:
            return [(path, bool(container)) for path, container in conn.execute(query)]

    def mark_gone(self, paths: list[tuple[str, bool]], when: float) -> None:
        """Mark deleted the files (path, is_container) no longer on disk, archives with their members."""
        if not paths:
            return
        scope = [files.c.path.in_([p for p, _ in paths])]
        for path, container in paths:  # '"' follows '!': the range of `archive!...` member keys
            if container:
                scope.append((files.c.path > path + codec.MEMBER_SEP) & (files.c.path < path + '"'))
        gone = sa.update(files).where(sa.or_(*scope), sa.not_(files.c.deleted))
        with write(self._engine) as conn:
            conn.execute(gone.values(deleted=True, deleted_at=when))

    def file_results(
        self, scan_id: Scope | None = None, *, flagged_only: bool = False
    ) -> Iterator[FileResult]:
        """Current results of the (not deleted) files seen in a scan (or in any of several scans),
        carried-forward ones included.

        Default scan: the latest completed one. Yields in path order, reading 500 files at a time.
        """
        with read(self._engine) as conn:
            sid = scope(conn, scan_id)
        if sid is None:
            return
        query = in_scope(sa.select(files), sid).order_by(files.c.path).limit(PAGE)
        if flagged_only:
            query = query.where(files.c.flagged)
        last = None
        while True:
            with read(self._engine) as conn:
                page = query if last is None else query.where(files.c.path > last)
                rows = conn.execute(page).mappings().all()
                loaded = self._load(conn, rows)
            yield from (loaded[r["path"]].result for r in rows)
            if len(rows) < PAGE:
                return
            last = rows[-1]["path"]

    @staticmethod
    def _load_categories(
        conn: Connection, ids: list[int]
    ) -> tuple[dict[int, list], dict[int, dict[tuple[str, str], list[bytes]]]]:
        """The category counts and digests of the files `ids`."""
        cats: dict[int, list] = defaultdict(list)
        keys: dict[int, dict[tuple[str, str], list[bytes]]] = defaultdict(lambda: defaultdict(list))
        if not ids:
            return cats, keys
        for c in conn.execute(
            sa.select(category_counts)
            .where(one_of(conn, category_counts.c.file_id, ids))
            .order_by(category_counts.c.file_id, category_counts.c.category)
        ).mappings():
            cats[c["file_id"]].append(c)
        if cats:
            for file_id, category, kind, digest in conn.execute(
                sa.select(category_keys).where(one_of(conn, category_keys.c.file_id, list(cats)))
            ):
                keys[file_id][(category, kind)].append(bytes(digest))
        return cats, keys

    @staticmethod
    def _load(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> dict[str, StoredFile]:
        """Rebuild StoredFiles for `files` rows (at most a few hundred: used inside IN lists)."""
        ids = [r["id"] for r in rows]
        ents: dict[int, list] = defaultdict(list)
        digests: dict[int, dict[str, list[bytes]]] = defaultdict(lambda: defaultdict(list))
        if ids:
            for e in conn.execute(
                sa.select(entity_counts)
                .where(one_of(conn, entity_counts.c.file_id, ids))
                .order_by(entity_counts.c.file_id, entity_counts.c.entity_type)
            ).mappings():
                ents[e["file_id"]].append(e)
            with_fps = [i for i, es in ents.items() if any(e["fingerprinted"] for e in es)]
            if with_fps:
                for file_id, etype, fp in conn.execute(
                    sa.select(fingerprints.c.file_id, fingerprint_types.c.entity_type, fingerprints.c.fp)
                    .join(fingerprint_types, fingerprint_types.c.id == fingerprints.c.type_id)
                    .where(one_of(conn, fingerprints.c.file_id, with_fps))
                    .order_by(fingerprints.c.file_id, fingerprints.c.type_id, fingerprints.c.fp)
                ):
                    digests[file_id][etype].append(fp)
        versions = {r["edm_version"] for r in rows if r["edm_version"] is not None}
        indexes = {}
        if versions:
            query = sa.select(edm_indexes).where(edm_indexes.c.version.in_(sorted(versions)))
            indexes = {i["version"]: i for i in conn.execute(query).mappings()}
        cats, keys = ResultsMixin._load_categories(conn, ids)
        return {
            r["path"]: StoredFile(
                path=r["path"],
                size=r["size"],
                mtime=r["mtime"],
                inode=codec.inode_from_db(r["inode"]),
                device=codec.inode_from_db(r["device"]),
                content_hash=r["content_hash"],
                detector_version=r["detector_version"],
                policy_version=r["policy_version"],
                last_scan_id=r["last_scan_id"],
                deleted=r["deleted"],
                result=codec.rebuild(
                    r,
                    ents.get(r["id"], ()),
                    {t: codec.fps_from_db(d) for t, d in digests.get(r["id"], {}).items()},
                    indexes.get(r["edm_version"]),
                    codec.rebuild_categories(cats.get(r["id"], ()), keys.get(r["id"], {})),
                ),
            )
            for r in rows
        }
