"""Stage (of the oversized pipeline): a message over ``call.max_message_bytes`` is judged on its
RFC822.SIZE and its headers alone. It is never downloaded; it is recorded as rejected and its sender told
why and how to resend, unless the loop rules (RFC 3834, our own address and domain) say not to answer."""

from __future__ import annotations

from ingest.context import MessageContext
from ingest.errors import RejectMessage
from ingest.loop_guard import no_reply_reason_for


def megabytes(size: int) -> str:
    """Megabytes as the replies write them, counted as mail programs count them (MiB): 10, 10,5."""
    return f"{size / 1_048_576:.1f}".replace(".", ",").removesuffix(",0")


def process(ctx: MessageContext) -> None:
    limit = ctx.settings.call.max_message_bytes
    reason = f"message is {ctx.row.size} bytes, over the limit of {limit} bytes; not downloaded"
    if no_reply_reason_for(ctx.message, ctx.settings) is not None:
        raise RejectMessage(reason + "; no automatic reply (auto-submitted, list or bounce)", None)
    raise RejectMessage(reason, "size_rejection", size_mb=megabytes(ctx.row.size), limit_mb=megabytes(limit))
