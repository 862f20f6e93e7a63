"""Table definitions used by the queries (the migrations in `migrations/` create them).

No table holds a raw value: fingerprints are 32-byte HMAC digests, samples are masked forms.
Times are POSIX seconds (float). Keep this file and the latest migration in step
(tests/test_store.py compares them).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

PENDING_ONLY = sa.text("state = 'pending'")

scans = sa.Table(
    "scans",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("roots", sa.JSON, nullable=False),
    sa.Column("roots_key", sa.Text, nullable=False),  # sorted JSON of roots, to find a scan to resume
    sa.Column("started", sa.Float, nullable=False),
    sa.Column("finished", sa.Float),
    sa.Column("status", sa.String(16), nullable=False),  # running|completed|interrupted|failed
    sa.Column("policy", sa.Text, nullable=False),
    sa.Column("policy_version", sa.Text, nullable=False),
    sa.Column("detector_version", sa.Text, nullable=False),
    sa.Column("options", sa.JSON, nullable=False),
    sa.Column("stats", sa.JSON),
    sa.Column("people", sa.Integer),  # distinct people at finish, for the trend
    sa.Index("ix_scans_roots_key", "roots_key"),
)

files = sa.Table(
    "files",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    # the file's key: the path below the scanned root's resolved absolute path (`walk.Entry.key`);
    # rows written before migration 0004 may hold the path as typed (relative), until adopted
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("parent", sa.Text),  # the containing archive, for archive members
    sa.Column("folder", sa.Text, nullable=False),  # exposure grouping: directory of the outermost file
    sa.Column("owner", sa.Text),
    sa.Column("size", sa.BigInteger),
    sa.Column("mtime", sa.Float),
    sa.Column("inode", sa.BigInteger),
    sa.Column("device", sa.BigInteger),  # NULL on rows written before migration 0004
    sa.Column("content_hash", sa.Text),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("media_type", sa.Text, nullable=False),
    sa.Column("records", sa.Integer, nullable=False),
    sa.Column("flagged", sa.Boolean, nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("reason", sa.Text),
    sa.Column("is_container", sa.Boolean, nullable=False),
    sa.Column("masked", sa.JSON(none_as_null=True)),  # {entity: [total, noncompliant]}; NULL: none
    sa.Column("rules", sa.JSON(none_as_null=True)),  # [[policy, rule, severity, scope], ...]; NULL: none
    sa.Column("notes", sa.JSON(none_as_null=True)),  # NULL: none
    sa.Column("detector_version", sa.Text),
    sa.Column("policy_version", sa.Text),
    # who can read the file (docs/exposure.md); NULL: not known (stored before migration 0007)
    sa.Column("access_level", sa.String(16)),
    sa.Column("access_principal", sa.Text),
    sa.Column("access_readers", sa.Integer),
    sa.Column("access_via", sa.String(16)),
    sa.Column("risk", sa.String(16), nullable=False, server_default="none"),  # severity x exposure
    sa.Column("risk_score", sa.Integer, nullable=False, server_default="0"),
    sa.Column("stale", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("last_scan_id", sa.Integer, sa.ForeignKey("scans.id"), nullable=False),
    sa.Column("last_seen", sa.Float, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False),
    sa.Column("deleted_at", sa.Float),
    # exact data match (migration 0006): the index version matched with; NULL when scanned without one
    sa.Column("edm_version", sa.Text),
    sa.Column("edm_high", sa.Integer),
    sa.Column("edm_medium", sa.Integer),
    # carry_forward rewrites last_scan_id/last_seen of every unchanged file, which stays cheap (HOT
    # updates on PostgreSQL) while no index covers those columns; `parent` finds archive members
    sa.Index("ux_files_path", "path", unique=True),
    sa.Index("ix_files_parent", "parent"),
)

scan_files = sa.Table(
    "scan_files",
    metadata,
    sa.Column("scan_id", sa.Integer, sa.ForeignKey("scans.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("file_id", sa.Integer, sa.ForeignKey("files.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("flagged", sa.Boolean, nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("records", sa.Integer, nullable=False),
    sa.Column("size", sa.BigInteger),
    sa.Column("counts", sa.JSON, nullable=False),  # {entity: [distinct, total]}
    sa.Column("carried", sa.Boolean, nullable=False),  # carried forward unchanged, not re-read
    sa.Index("ix_scan_files_file_id", "file_id"),
)

entity_counts = sa.Table(
    "entity_counts",
    metadata,
    sa.Column("file_id", sa.Integer, sa.ForeignKey("files.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("entity_type", sa.String(64), primary_key=True),
    sa.Column("n_distinct", sa.Integer, nullable=False),
    sa.Column("n_total", sa.Integer, nullable=False),
    sa.Column("fingerprinted", sa.Boolean, nullable=False),  # False: scanned without a fingerprint key
    sa.Column("samples", sa.JSON, nullable=False),  # masked forms only
    sa.Column(
        "confirmed", sa.Integer, nullable=False, server_default="0"
    ),  # distinct values a header/label confirmed
    sa.Column("locations", sa.JSON(none_as_null=True)),  # ["Sheet1 row 12", ...]; NULL: none known
)

# The entity types that have fingerprints, numbered: a fingerprint row holds the number, not the
# name (a row of 'CN_RESIDENT_ID' took SQLite twice as long to insert, and a fifth more space).
fingerprint_types = sa.Table(
    "fingerprint_types",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("entity_type", sa.String(64), nullable=False, unique=True),
)

# The fingerprint table holds millions of rows. Its primary key (file_id first) is the one index
# it has: it serves the per-file reads and the grouped COUNT(DISTINCT) of the exposure queries.
# file_id and type_id have no foreign keys: a per-row FK check doubled bulk-load time on PostgreSQL;
# only record_results writes these rows (delete + insert per file, one transaction), files are never
# deleted, and a type's number is never reused.
fingerprints = sa.Table(
    "fingerprints",
    metadata,
    sa.Column("file_id", sa.Integer, primary_key=True),
    sa.Column("type_id", sa.Integer, primary_key=True),  # fingerprint_types.id
    sa.Column("fp", sa.LargeBinary(32), primary_key=True),
    sqlite_with_rowid=False,
)

# Exact data match: the master rows a file matched, as 8-byte keyed row keys (HMAC under the EDM
# key, stable across rebuilds of the index), for distinct counts across files like `fingerprints`.
edm_rows = sa.Table(
    "edm_rows",
    metadata,
    sa.Column("file_id", sa.Integer, primary_key=True),
    sa.Column("row_key", sa.LargeBinary(8), primary_key=True),
    sa.Column("high", sa.Boolean, nullable=False),
    sqlite_with_rowid=False,
)

# A file's EDM evidence (dlpscan.edm.evidence: keyed 8-byte value digests and positions, compressed):
# a rebuilt index is applied to it without reading the file again. Absent when the file held none.
edm_evidence = sa.Table(
    "edm_evidence",
    metadata,
    sa.Column("file_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("evidence", sa.LargeBinary, nullable=False),
)

# The EDM index versions scans used (what `dlpscan edm info` shows; never a value).
edm_indexes = sa.Table(
    "edm_indexes",
    metadata,
    sa.Column("version", sa.String(32), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("key_id", sa.String(32), nullable=False),
    sa.Column("schema_hash", sa.String(32), nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("build_date", sa.Text, nullable=False),
    sa.Column("first_used", sa.Float, nullable=False),
)

# Legal data categories per file (recognizers/categories): counts, and what decided them
# (vocabulary words and pattern names, never values).
category_counts = sa.Table(
    "category_counts",
    metadata,
    sa.Column("file_id", sa.Integer, sa.ForeignKey("files.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("category", sa.String(64), primary_key=True),
    sa.Column("n_people", sa.Integer, nullable=False),
    sa.Column("n_records", sa.Integer, nullable=False),
    sa.Column("n_rows", sa.Integer, nullable=False),
    sa.Column("basis", sa.JSON, nullable=False),
)

# Keyed 16-byte digests of each category's people (kind 'p') and records (kind 'r'), for distinct
# counts across the files of a folder or an owner. No foreign key, like `fingerprints`.
category_keys = sa.Table(
    "category_keys",
    metadata,
    sa.Column("file_id", sa.Integer, primary_key=True),
    sa.Column("category", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(1), primary_key=True),
    sa.Column("digest", sa.LargeBinary(16), primary_key=True),
    sqlite_with_rowid=False,
)

triage = sa.Table(
    "triage",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("who", sa.Text, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("size", sa.BigInteger),  # the file version the decision was made on
    sa.Column("mtime", sa.Float),
    sa.Column("content_hash", sa.Text),
    sa.Index("ix_triage_path", "path"),
)

queue = sa.Table(
    "queue",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("event", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # pending|working
    sa.Column("not_before", sa.Float, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("enqueued", sa.Float, nullable=False),
    sa.Index("ix_queue_state_not_before", "state", "not_before"),
    sa.Index(
        "ux_queue_pending_path",
        "path",
        unique=True,
        sqlite_where=PENDING_ONLY,
        postgresql_where=PENDING_ONLY,
    ),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("version_key", sa.Text, nullable=False),
    sa.Column("sink", sa.String(64), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # pending|sent|withdrawn (its sink was removed)
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_try", sa.Float, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("sent_at", sa.Float),
    sa.UniqueConstraint("path", "version_key", "sink", name="uq_alerts_path_version_sink"),
    sa.Index("ix_alerts_sink_state_next_try", "sink", "state", "next_try"),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
)
