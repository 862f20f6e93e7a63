"""Exact data match (docs/edm.md): per file the index version it was matched with and its high /
medium counts; the matched master rows as keyed row keys (for distinct counts per folder and owner);
the file's evidence (keyed value digests and where they were found), to apply a rebuilt index
without reading the file again; the index versions used. No raw or normalised value anywhere.

Revision ID: 0006
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("edm_version", sa.Text))
        batch.add_column(sa.Column("edm_high", sa.Integer))
        batch.add_column(sa.Column("edm_medium", sa.Integer))
    op.create_table(
        "edm_rows",
        sa.Column("file_id", sa.Integer, primary_key=True),
        sa.Column("row_key", sa.LargeBinary(8), primary_key=True),
        sa.Column("high", sa.Boolean, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "edm_evidence",
        sa.Column("file_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("evidence", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "edm_indexes",
        sa.Column("version", sa.String(32), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("schema_hash", sa.String(32), nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("build_date", sa.Text, nullable=False),
        sa.Column("first_used", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("edm_indexes")
    op.drop_table("edm_evidence")
    op.drop_table("edm_rows")
    with op.batch_alter_table("files") as batch:
        batch.drop_column("edm_medium")
        batch.drop_column("edm_high")
        batch.drop_column("edm_version")
