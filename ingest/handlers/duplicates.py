"""Stage: the same email delivered twice (same Message-ID and the same content) is recorded, not processed
again. Another email that merely reuses a Message-ID (gateways rewrite ids, some systems reuse them) is a new
message: it goes on through the pipeline, and the collision is noted on it for staff (and shown on both)."""

from __future__ import annotations

from ingest.context import MessageContext
from ingest.errors import DuplicateMessage
from storage.queries import find_duplicate
from storage.reasons import Reason, ReasonCode


def process(ctx: MessageContext) -> None:
    found = find_duplicate(ctx.session, ctx.row)
    if found.duplicate_of is not None:
        original = found.duplicate_of
        ctx.row.duplicate_of_id = original.id
        ctx.row.application_id = original.application_id
        raise DuplicateMessage(Reason(ReasonCode.DUPLICATE, {"original": original.id,
                                                             "received": original.received_at.isoformat()}))
    if found.collides_with is not None:
        ctx.row.id_collision_of_id = found.collides_with.id
