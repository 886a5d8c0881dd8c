"""Decisions that stand up: the ground a staff rejection gives the municipality (beside the internal note), a
late application admitted by staff, a clarification's answer-by date and its withdrawal, and the words an
approver approved for each decision letter.

Letters of decisions approved before this keep the words they have as approved by the decision's approver.
A rejection from before keeps its text as the internal note only: its letter states no ground of its own
until staff give one.

Revision ID: 0011
Revises: 0010
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("application") as batch:
        batch.add_column(sa.Column("rejected_ground", sa.Text, nullable=True))
        batch.add_column(sa.Column("late_admitted_reason", sa.Text, nullable=True))
        batch.add_column(sa.Column("late_admitted_by", sa.String(320), nullable=True))
    with op.batch_alter_table("reply") as batch:
        batch.add_column(sa.Column("answer_by", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("withdrawn_by", sa.String(320), nullable=True))
        batch.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("decision_letter") as batch:
        batch.add_column(sa.Column("approved_subject", sa.Text, nullable=True))
        batch.add_column(sa.Column("approved_body", sa.Text, nullable=True))
        batch.add_column(sa.Column("approved_by", sa.String(320), nullable=True))
        batch.add_column(sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True))
    decision = sa.table("decision", sa.column("id", sa.Integer), sa.column("state", sa.String),
                        sa.column("reviewed_by", sa.String), sa.column("reviewed_at", sa.DateTime(timezone=True)))
    letter = sa.table("decision_letter", sa.column("decision_id", sa.Integer), sa.column("subject", sa.Text),
                      sa.column("body", sa.Text), sa.column("approved_subject", sa.Text),
                      sa.column("approved_body", sa.Text), sa.column("approved_by", sa.String),
                      sa.column("approved_at", sa.DateTime(timezone=True)))
    of_decision = sa.select(decision.c.id).where(decision.c.state.in_(("approved", "sent")))
    approver = sa.select(decision.c.reviewed_by).where(decision.c.id == letter.c.decision_id).scalar_subquery()
    approved_at = sa.select(decision.c.reviewed_at).where(decision.c.id == letter.c.decision_id).scalar_subquery()
    op.execute(letter.update().where(letter.c.decision_id.in_(of_decision)).values(
        approved_subject=letter.c.subject, approved_body=letter.c.body, approved_by=approver,
        approved_at=approved_at))


def downgrade() -> None:
    with op.batch_alter_table("decision_letter") as batch:
        for name in ("approved_at", "approved_by", "approved_body", "approved_subject"):
            batch.drop_column(name)
    with op.batch_alter_table("reply") as batch:
        for name in ("withdrawn_at", "withdrawn_by", "answer_by"):
            batch.drop_column(name)
    with op.batch_alter_table("application") as batch:
        for name in ("late_admitted_by", "late_admitted_reason", "rejected_ground"):
            batch.drop_column(name)
