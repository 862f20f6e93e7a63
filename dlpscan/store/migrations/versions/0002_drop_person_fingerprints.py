"""drop person_fingerprints: created by 0001 but never filled (people are counted from the
person-key entity types' fingerprints)

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("person_fingerprints")


def downgrade() -> None:
    op.create_table(
        "person_fingerprints",
        sa.Column("file_id", sa.Integer, primary_key=True),
        sa.Column("fp", sa.LargeBinary(32), primary_key=True),
        sqlite_with_rowid=False,
    )
