"""An index on reply.created_at: the rate limit counts the last hour's replies for every reply it queues, which
without it reads the whole table each time (quadratic over a backlog).

Revision ID: 0007
Revises: 0006
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_reply_created_at", "reply", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_reply_created_at", table_name="reply")
