"""Submission versions (number, sender, a correction after the deadline); the language of each reply.

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
    with op.batch_alter_table("submission") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("sender", sa.String(length=320), nullable=True))
        batch.add_column(sa.Column("after_deadline", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("reply") as batch:
        batch.add_column(sa.Column("language", sa.String(length=8), nullable=False, server_default="da"))


def downgrade() -> None:
    with op.batch_alter_table("reply") as batch:
        batch.drop_column("language")
    with op.batch_alter_table("submission") as batch:
        batch.drop_column("after_deadline")
        batch.drop_column("sender")
        batch.drop_column("version")
