"""Jobs remember whether their final event was published.

A job that ends while Redis is away cannot publish its ``job.succeeded``/``job.failed``;
the flag lets the host's worker publish it, from the row, once Redis is back. Rows made
before this revision were announced when they ended.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("announced", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("announced")
