"""Nothing lost: a content digest and Message-ID collisions on messages, an edit version on applications,
named counters (reference numbers, serialised checks) and the SQLite worker lease.

Revision ID: 0004
Revises: 0003
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_message") as batch:
        batch.add_column(sa.Column("content_digest", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("id_collision_of_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_inbound_message_content_digest"), ["content_digest"], unique=False)
        batch.create_foreign_key(batch.f("fk_inbound_message_id_collision_of_id_inbound_message"),
                                 "inbound_message", ["id_collision_of_id"], ["id"])
    with op.batch_alter_table("application") as batch:
        batch.add_column(sa.Column("edit_version", sa.Integer(), nullable=False, server_default="1"))
    op.create_table(
        "named_counter",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_named_counter")),
    )
    op.create_table(
        "worker_lease",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_worker_lease")),
    )


def downgrade() -> None:
    op.drop_table("worker_lease")
    op.drop_table("named_counter")
    with op.batch_alter_table("application") as batch:
        batch.drop_column("edit_version")
    with op.batch_alter_table("inbound_message") as batch:
        batch.drop_constraint(batch.f("fk_inbound_message_id_collision_of_id_inbound_message"), type_="foreignkey")
        batch.drop_index(batch.f("ix_inbound_message_content_digest"))
        batch.drop_column("id_collision_of_id")
        batch.drop_column("content_digest")
