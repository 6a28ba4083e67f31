"""Jobs of many changes (a batch) keep each row's outcome.

A bulk action is one job; its rows succeed or fail each on its own, and the admin reads
which did what. Rows made before this revision were jobs of one change: no rows.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # A database an older WMI2 made with create_all of a newer model has the column already.
    if "rows" in {column["name"] for column in sa.inspect(op.get_bind()).get_columns("jobs")}:
        return
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("rows", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("rows")
