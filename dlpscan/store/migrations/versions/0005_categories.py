"""Legal data categories per file: counts with what decided them (`category_counts`), and keyed
digests of each category's people and records (`category_keys`) for distinct counts across files.

Revision ID: 0005
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "category_counts",
        sa.Column("file_id", sa.Integer, sa.ForeignKey("files.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("category", sa.String(64), primary_key=True),
        sa.Column("n_people", sa.Integer, nullable=False),
        sa.Column("n_records", sa.Integer, nullable=False),
        sa.Column("n_rows", sa.Integer, nullable=False),
        sa.Column("basis", sa.JSON, nullable=False),
    )
    op.create_table(
        "category_keys",
        sa.Column("file_id", sa.Integer, primary_key=True),
        sa.Column("category", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(1), primary_key=True),
        sa.Column("digest", sa.LargeBinary(16), primary_key=True),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("category_keys")
    op.drop_table("category_counts")
