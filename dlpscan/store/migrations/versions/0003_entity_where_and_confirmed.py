"""entity counts: how many distinct values a header or label confirmed, and a sample of locations

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("entity_counts") as batch:
        batch.add_column(sa.Column("confirmed", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("locations", sa.JSON(none_as_null=True)))


def downgrade() -> None:
    with op.batch_alter_table("entity_counts") as batch:
        batch.drop_column("locations")
        batch.drop_column("confirmed")
