"""Stage: the same email delivered twice (same Message-ID, or same bytes) is recorded, not processed again."""

from __future__ import annotations

from ingest.context import MessageContext
from ingest.errors import DuplicateMessage
from storage.queries import find_original


def process(ctx: MessageContext) -> None:
    original = find_original(ctx.session, ctx.row.dedupe_key, exclude_id=ctx.row.id)
    if original is not None:
        ctx.row.duplicate_of_id = original.id
        ctx.row.application_id = original.application_id
        raise DuplicateMessage(f"same email as message #{original.id} received "
                               f"{original.received_at:%Y-%m-%d %H:%M} UTC", original.id)
