"""files: the device beside the inode, and an index on `parent` (archive members are carried forward
with their archive). Paths are now stored under the scanned root's resolved absolute path; rows stored
under the path as typed keep it until a scan meets the same file (inode, size, mtime) again and adopts
them (`Store.adopt`), since the folder a relative path was typed in is not recorded anywhere.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("device", sa.BigInteger))
    op.create_index("ix_files_parent", "files", ["parent"])


def downgrade() -> None:
    op.drop_index("ix_files_parent", "files")
    with op.batch_alter_table("files") as batch:
        batch.drop_column("device")
