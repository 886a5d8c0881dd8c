"""Stage (of the oversized pipeline): a message over ``call.max_message_bytes`` is judged on its
RFC822.SIZE and its headers alone. It is never downloaded; it is recorded as rejected and its sender told
why and how to resend, unless the loop rules (RFC 3834, our own address and domain) say not to answer."""

from __future__ import annotations

from ingest.context import MessageContext
from ingest.errors import RejectMessage
from ingest.loop_guard import no_reply_reason_for
from storage.reasons import Reason, ReasonCode


def process(ctx: MessageContext) -> None:
    limit = ctx.settings.call.max_message_bytes
    reason = Reason(ReasonCode.OVERSIZED, {"size": ctx.row.size, "limit": limit})
    no_reply = no_reply_reason_for(ctx.message, ctx.settings)
    if no_reply is not None:
        raise RejectMessage(reason.with_no_reply(no_reply), None)
    raise RejectMessage(reason, "size_rejection", size=ctx.row.size, limit=limit)
