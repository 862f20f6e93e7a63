"""files: who can read each file version (access level, principal, readers, via), its risk
(severity x exposure) and score, and whether it is stale. Rows stored before have no access
(NULL: unknown) until a scan walks them again, which fills it without reading their content.

Revision ID: 0007
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("access_level", sa.String(16)))
        batch.add_column(sa.Column("access_principal", sa.Text))
        batch.add_column(sa.Column("access_readers", sa.Integer))
        batch.add_column(sa.Column("access_via", sa.String(16)))
        batch.add_column(sa.Column("risk", sa.String(16), nullable=False, server_default="none"))
        batch.add_column(sa.Column("risk_score", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("stale", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("files") as batch:
        for column in ("stale", "risk_score", "risk", "access_via", "access_readers", "access_principal"):
            batch.drop_column(column)
        batch.drop_column("access_level")
