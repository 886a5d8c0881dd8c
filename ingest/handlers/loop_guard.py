"""Stage: never answer auto-replies, bounces or lists (RFC 3834); record them as ignored."""

from __future__ import annotations

from ingest.context import MessageContext
from ingest.errors import IgnoreMessage
from ingest.loop_guard import no_reply_reason
from notifications.compose import parse_sender


def process(ctx: MessageContext) -> None:
    reason = no_reply_reason(ctx.message, parse_sender(ctx.settings.smtp.sender)[1])
    if reason is not None:
        raise IgnoreMessage(f"no automatic reply: {reason}")
