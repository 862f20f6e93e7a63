"""initial schema: scans, files, per-scan results, entity counts, fingerprints, triage, queue, alerts, events

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

PENDING_ONLY = sa.text("state = 'pending'")


def _file_fk() -> sa.Column:
    return sa.Column("file_id", sa.Integer, sa.ForeignKey("files.id", ondelete="CASCADE"), primary_key=True)


def upgrade() -> None:
    op.create_table(
        "scans",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("roots", sa.JSON, nullable=False),
        sa.Column("roots_key", sa.Text, nullable=False),
        sa.Column("started", sa.Float, nullable=False),
        sa.Column("finished", sa.Float),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("policy", sa.Text, nullable=False),
        sa.Column("policy_version", sa.Text, nullable=False),
        sa.Column("detector_version", sa.Text, nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("stats", sa.JSON),
        sa.Column("people", sa.Integer),
    )
    op.create_index("ix_scans_roots_key", "scans", ["roots_key"])

    op.create_table(
        "files",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("parent", sa.Text),
        sa.Column("folder", sa.Text, nullable=False),
        sa.Column("owner", sa.Text),
        sa.Column("size", sa.BigInteger),
        sa.Column("mtime", sa.Float),
        sa.Column("inode", sa.BigInteger),
        sa.Column("content_hash", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("media_type", sa.Text, nullable=False),
        sa.Column("records", sa.Integer, nullable=False),
        sa.Column("flagged", sa.Boolean, nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("reason", sa.Text),
        sa.Column("is_container", sa.Boolean, nullable=False),
        sa.Column("masked", sa.JSON(none_as_null=True)),
        sa.Column("rules", sa.JSON(none_as_null=True)),
        sa.Column("notes", sa.JSON(none_as_null=True)),
        sa.Column("detector_version", sa.Text),
        sa.Column("policy_version", sa.Text),
        sa.Column("last_scan_id", sa.Integer, sa.ForeignKey("scans.id"), nullable=False),
        sa.Column("last_seen", sa.Float, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("deleted_at", sa.Float),
    )
    op.create_index("ux_files_path", "files", ["path"], unique=True)

    op.create_table(
        "scan_files",
        sa.Column("scan_id", sa.Integer, sa.ForeignKey("scans.id", ondelete="CASCADE"), primary_key=True),
        _file_fk(),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("flagged", sa.Boolean, nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("records", sa.Integer, nullable=False),
        sa.Column("size", sa.BigInteger),
        sa.Column("counts", sa.JSON, nullable=False),
        sa.Column("carried", sa.Boolean, nullable=False),
    )
    op.create_index("ix_scan_files_file_id", "scan_files", ["file_id"])

    op.create_table(
        "entity_counts",
        _file_fk(),
        sa.Column("entity_type", sa.String(64), primary_key=True),
        sa.Column("n_distinct", sa.Integer, nullable=False),
        sa.Column("n_total", sa.Integer, nullable=False),
        sa.Column("fingerprinted", sa.Boolean, nullable=False),
        sa.Column("samples", sa.JSON, nullable=False),
    )

    # no foreign key on the fingerprint tables' file_id: bulk-load speed (see dlpscan/store/schema.py)
    op.create_table(
        "fingerprints",
        sa.Column("file_id", sa.Integer, primary_key=True),
        sa.Column("entity_type", sa.String(64), primary_key=True),
        sa.Column("fp", sa.LargeBinary(32), primary_key=True),
        sqlite_with_rowid=False,
    )

    op.create_table(
        "person_fingerprints",
        sa.Column("file_id", sa.Integer, primary_key=True),
        sa.Column("fp", sa.LargeBinary(32), primary_key=True),
        sqlite_with_rowid=False,
    )

    op.create_table(
        "triage",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("who", sa.Text, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("size", sa.BigInteger),
        sa.Column("mtime", sa.Float),
        sa.Column("content_hash", sa.Text),
    )
    op.create_index("ix_triage_path", "triage", ["path"])

    op.create_table(
        "queue",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("not_before", sa.Float, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("enqueued", sa.Float, nullable=False),
    )
    op.create_index("ix_queue_state_not_before", "queue", ["state", "not_before"])
    op.create_index(
        "ux_queue_pending_path",
        "queue",
        ["path"],
        unique=True,
        sqlite_where=PENDING_ONLY,
        postgresql_where=PENDING_ONLY,
    )

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("version_key", sa.Text, nullable=False),
        sa.Column("sink", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_try", sa.Float, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("sent_at", sa.Float),
        sa.UniqueConstraint("path", "version_key", "sink", name="uq_alerts_path_version_sink"),
    )
    op.create_index("ix_alerts_sink_state_next_try", "alerts", ["sink", "state", "next_try"])

    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "events",
        "alerts",
        "queue",
        "triage",
        "person_fingerprints",
        "fingerprints",
        "entity_counts",
        "scan_files",
        "files",
        "scans",
    ):
        op.drop_table(table)
