"""Rounds and decisions: the round an application arrived in, staff roles, a round's proposed and approved
selection, and its decision letters.

Applications from before rounds existed keep round NULL: they belong to the first round.

Revision ID: 0008
Revises: 0007
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("application") as batch:
        batch.add_column(sa.Column("round", sa.String(32), nullable=True))
        batch.create_index("ix_application_round", ["round"])
    with op.batch_alter_table("staff_user") as batch:
        batch.add_column(sa.Column("role", sa.String(16), nullable=False, server_default="staff"))
    op.create_table(
        "decision",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("round", sa.String(32), nullable=False, index=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("proposed_by", sa.String(320), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("proposal_note", sa.Text),
        sa.Column("reviewed_by", sa.String(320)),
        sa.Column("reviewed_at", sa.DateTime(timezone=True)),
        sa.Column("review_comment", sa.Text),
        sa.Column("snapshot", sa.JSON, nullable=False),
        sa.Column("sent_by", sa.String(320)),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "decision_letter",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("decision_id", sa.Integer, sa.ForeignKey("decision.id"), nullable=False, index=True),
        sa.Column("application_id", sa.Integer, sa.ForeignKey("application.id"), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("grounds", sa.JSON, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("edited_by", sa.String(320)),
        sa.Column("edited_at", sa.DateTime(timezone=True)),
        sa.Column("reply_id", sa.Integer, sa.ForeignKey("reply.id")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("decision_letter")
    op.drop_table("decision")
    with op.batch_alter_table("staff_user") as batch:
        batch.drop_column("role")
    with op.batch_alter_table("application") as batch:
        batch.drop_index("ix_application_round")
        batch.drop_column("round")
