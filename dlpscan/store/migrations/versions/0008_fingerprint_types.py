"""fingerprints: the entity type as a number (fingerprint_types), not its name in every row.

The table is rebuilt: its rows are copied once with their types' numbers.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None
_RENAME_KEY = "ALTER TABLE fingerprints RENAME CONSTRAINT {} TO fingerprints_pkey"


def _fingerprint_table(name: str, entity_type: sa.Column) -> None:
    """A fingerprint table whose rows name their type by `entity_type` (a name or a number)."""
    op.create_table(
        name,
        sa.Column("file_id", sa.Integer, primary_key=True),
        entity_type,
        sa.Column("fp", sa.LargeBinary(32), primary_key=True),
        sqlite_with_rowid=False,
    )


def upgrade() -> None:
    op.create_table(
        "fingerprint_types",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("entity_type", sa.String(64), nullable=False, unique=True),
    )
    op.execute(
        "INSERT INTO fingerprint_types (entity_type) "
        "SELECT DISTINCT entity_type FROM fingerprints ORDER BY entity_type"
    )
    _fingerprint_table("fingerprints_numbered", sa.Column("type_id", sa.Integer, primary_key=True))
    op.execute(
        "INSERT INTO fingerprints_numbered (file_id, type_id, fp) "
        "SELECT f.file_id, t.id, f.fp FROM fingerprints f "
        "JOIN fingerprint_types t ON t.entity_type = f.entity_type ORDER BY f.file_id, t.id, f.fp"
    )
    op.drop_table("fingerprints")
    op.rename_table("fingerprints_numbered", "fingerprints")
    if op.get_bind().dialect.name == "postgresql":  # the key's name, as a new store's
        op.execute(_RENAME_KEY.format("fingerprints_numbered_pkey"))


def downgrade() -> None:
    _fingerprint_table("fingerprints_named", sa.Column("entity_type", sa.String(64), primary_key=True))
    op.execute(
        "INSERT INTO fingerprints_named (file_id, entity_type, fp) "
        "SELECT f.file_id, t.entity_type, f.fp FROM fingerprints f "
        "JOIN fingerprint_types t ON t.id = f.type_id"
    )
    op.drop_table("fingerprints")
    op.rename_table("fingerprints_named", "fingerprints")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_RENAME_KEY.format("fingerprints_named_pkey"))
    op.drop_table("fingerprint_types")
