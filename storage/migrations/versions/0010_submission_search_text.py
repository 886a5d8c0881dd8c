"""What the queue's search reads of each version's form, stored with the version: the search then reads no
field values. Filled here for the versions stored before, from their field values.

Revision ID: 0010
Revises: 0009
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("submission") as batch:
        batch.add_column(sa.Column("search_text", sa.Text, nullable=True))
    field_value = sa.table("field_value", sa.column("submission_id", sa.Integer), sa.column("key", sa.String),
                           sa.column("value", sa.JSON))
    submission = sa.table("submission", sa.column("id", sa.Integer), sa.column("search_text", sa.Text))
    bind = op.get_bind()
    # the versions that still have their values (retention deleted the rest: theirs stays None)
    fields: dict[int, dict[str, object]] = {
        sid: {} for sid in bind.scalars(sa.select(field_value.c.submission_id).distinct())}
    for submission_id, key, value in bind.execute(
            sa.select(field_value.c.submission_id, field_value.c.key, field_value.c.value)
            .where(field_value.c.key.in_(["partners", "contact_email"]))):
        fields[submission_id][key] = value
    # as storage.queue_index.form_search_text worked when this migration was written
    texts = []
    for submission_id, found in fields.items():
        partners = found.get("partners")
        names = [str(p.get("municipality") or "") for p in (partners if isinstance(partners, list) else [])
                 if isinstance(p, dict)]
        texts.append({"sid": submission_id,
                      "text": " ".join([" ".join(names), str(found.get("contact_email") or "")]).casefold()})
    if texts:
        bind.execute(submission.update().where(submission.c.id == sa.bindparam("sid"))
                     .values(search_text=sa.bindparam("text")), texts)


def downgrade() -> None:
    with op.batch_alter_table("submission") as batch:
        batch.drop_column("search_text")
