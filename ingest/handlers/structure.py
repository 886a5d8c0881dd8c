"""Stage: parse the whole message within ``MessageLimits``; beyond them it is quarantined, never crashes.

Until this stage the pipeline holds only the message's headers (read safely); a message nested a thousand
levels deep, with a hundred thousand header lines or a megabyte-long header line is kept, shown to staff
with the limit it broke, moved to the quarantine folder and, when it may be answered, its sender asked to
send the form again in an ordinary email.
"""

from __future__ import annotations

from ingest.context import MessageContext
from ingest.errors import QuarantineMessage
from ingest.loop_guard import no_reply_reason_for
from ingest.message_reading import MessageLimits, MessageStructureError, read_message
from storage.reasons import Reason, ReasonCode


def quarantine(ctx: MessageContext, code: str, detail: str) -> QuarantineMessage:
    """The control-flow exception that quarantines ``ctx``'s message: answered unless loop rules forbid."""
    reason = Reason(ReasonCode.QUARANTINED, {"limit": code, "detail": detail})
    no_reply = no_reply_reason_for(ctx.message, ctx.settings)
    if no_reply is not None:
        return QuarantineMessage(reason.with_no_reply(no_reply), None)
    return QuarantineMessage(reason, "quarantined", structure_limit=code)


def process(ctx: MessageContext) -> None:
    if ctx.refused_ahead is not None:  # beyond its limits where it was read ahead (a parse worker)
        raise quarantine(ctx, *ctx.refused_ahead)
    if ctx.parsed_ahead is not None:  # the poller parsed it within the same limits already
        ctx.message = ctx.parsed_ahead
        return
    if ctx.raw is None:  # a test built the context from a parsed message
        return
    try:
        ctx.message = read_message(ctx.raw, MessageLimits.from_settings(ctx.settings.limits))
    except MessageStructureError as error:
        raise quarantine(ctx, error.code, error.detail) from error
