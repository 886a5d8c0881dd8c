"""Operations: how long the pipeline took for each message, how many polls ran and failed (metrics), versions
read again by `reprocess`, and what `purge` has deleted.

Revision ID: 0005
Revises: 0004
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_message") as batch:
        batch.add_column(sa.Column("processing_ms", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("application") as batch:
        batch.add_column(sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("submission") as batch:
        batch.add_column(sa.Column("reprocessed", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("service_status") as batch:
        batch.add_column(sa.Column("runs_total", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("failures_total", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("service_status") as batch:
        batch.drop_column("failures_total")
        batch.drop_column("runs_total")
    with op.batch_alter_table("submission") as batch:
        batch.drop_column("reprocessed")
    with op.batch_alter_table("application") as batch:
        batch.drop_column("purged_at")
    with op.batch_alter_table("inbound_message") as batch:
        batch.drop_column("purged_at")
        batch.drop_column("processing_ms")
