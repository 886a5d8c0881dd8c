"""The caseworker's day: an inbound email that needs a person is marked handled (by whom, when, how, with a
note), emails and applications are assigned to a caseworker, and a reply written or forwarded by staff names
its author (a forward also the address answers go to).

Emails from before count as needing a person by the same rules as new ones; nothing is marked handled.

Revision ID: 0012
Revises: 0011
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_message") as batch:
        batch.add_column(sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("handled_by", sa.String(320), nullable=True))
        batch.add_column(sa.Column("handled_how", sa.String(16), nullable=True))
        batch.add_column(sa.Column("handled_note", sa.Text, nullable=True))
        batch.add_column(sa.Column("assigned_to", sa.String(320), nullable=True))
    with op.batch_alter_table("application") as batch:
        batch.add_column(sa.Column("assigned_to", sa.String(320), nullable=True))
    with op.batch_alter_table("reply") as batch:
        batch.add_column(sa.Column("reply_to", sa.String(320), nullable=True))
        batch.add_column(sa.Column("author", sa.String(320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reply") as batch:
        for name in ("author", "reply_to"):
            batch.drop_column(name)
    with op.batch_alter_table("application") as batch:
        batch.drop_column("assigned_to")
    with op.batch_alter_table("inbound_message") as batch:
        for name in ("assigned_to", "handled_note", "handled_how", "handled_by", "handled_at"):
            batch.drop_column(name)
