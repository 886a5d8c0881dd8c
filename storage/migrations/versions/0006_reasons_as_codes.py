"""Reasons and problems as codes with parameters (worded by ``notifications.locale``), not sentences: the
message's reason, each problem of a form version and why an attachment could not be opened. Text written
before is kept as the ``legacy`` code with the text as its parameter.

Revision ID: 0006
Revises: 0005
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_message = sa.table("inbound_message", sa.column("id", sa.Integer), sa.column("reason", sa.Text),
                    sa.column("reason_code", sa.String), sa.column("reason_params", sa.JSON))
_problem = sa.table("problem", sa.column("id", sa.Integer), sa.column("message", sa.Text),
                    sa.column("label", sa.Text), sa.column("code", sa.String), sa.column("params", sa.JSON))
_attachment = sa.table("attachment", sa.column("id", sa.Integer), sa.column("note", sa.Text),
                       sa.column("refusal", sa.JSON))


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("inbound_message") as batch:
        batch.add_column(sa.Column("reason_code", sa.String(32), nullable=True))
        batch.add_column(sa.Column("reason_params", sa.JSON(), nullable=True))
    with op.batch_alter_table("problem") as batch:
        batch.add_column(sa.Column("code", sa.String(32), nullable=False, server_default="legacy"))
        batch.add_column(sa.Column("params", sa.JSON(), nullable=True))
    with op.batch_alter_table("attachment") as batch:
        batch.add_column(sa.Column("refusal", sa.JSON(), nullable=True))
    for row_id, text in bind.execute(sa.select(_message.c.id, _message.c.reason).where(_message.c.reason.isnot(None))):
        bind.execute(_message.update().where(_message.c.id == row_id).values(
            reason_code="legacy", reason_params={"text": text}))
    for row_id, text in bind.execute(sa.select(_problem.c.id, _problem.c.message)):
        bind.execute(_problem.update().where(_problem.c.id == row_id).values(params={"text": text}))
    for row_id, text in bind.execute(sa.select(_attachment.c.id, _attachment.c.note)
                                     .where(_attachment.c.note.isnot(None))):
        bind.execute(_attachment.update().where(_attachment.c.id == row_id).values(
            refusal={"code": "corrupt", "cause": "legacy", "filename": "", "text": text}))
    with op.batch_alter_table("inbound_message") as batch:
        batch.drop_column("reason")
    with op.batch_alter_table("problem") as batch:
        batch.drop_column("label")
        batch.drop_column("message")
    with op.batch_alter_table("attachment") as batch:
        batch.drop_column("note")


def downgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("inbound_message") as batch:
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))
    with op.batch_alter_table("problem") as batch:
        batch.add_column(sa.Column("label", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("message", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("attachment") as batch:
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))
    for row_id, code, params in bind.execute(sa.select(_message.c.id, _message.c.reason_code,
                                                       _message.c.reason_params)
                                             .where(_message.c.reason_code.isnot(None))):
        text = (params or {}).get("text") if code == "legacy" else f"{code} {params or ''}".strip()
        bind.execute(_message.update().where(_message.c.id == row_id).values(reason=text))
    for row_id, code, params in bind.execute(sa.select(_problem.c.id, _problem.c.code, _problem.c.params)):
        text = (params or {}).get("text") if code == "legacy" else f"{code} {params or ''}".strip()
        bind.execute(_problem.update().where(_problem.c.id == row_id).values(message=text or ""))
    for row_id, refusal in bind.execute(sa.select(_attachment.c.id, _attachment.c.refusal)
                                        .where(_attachment.c.refusal.isnot(None))):
        bind.execute(_attachment.update().where(_attachment.c.id == row_id).values(
            note=(refusal or {}).get("text") or f"{(refusal or {}).get('cause', '')}"))
    with op.batch_alter_table("attachment") as batch:
        batch.drop_column("refusal")
    with op.batch_alter_table("problem") as batch:
        batch.drop_column("params")
        batch.drop_column("code")
    with op.batch_alter_table("inbound_message") as batch:
        batch.drop_column("reason_params")
        batch.drop_column("reason_code")
