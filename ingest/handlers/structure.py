"""Stage: the whole message as read within ``MessageLimits`` (``ctx.files``); beyond them it is quarantined.

Until this stage the pipeline holds only the message's headers (read safely); a message nested a thousand
levels deep, with a hundred thousand header lines or a megabyte-long header line is kept, shown to staff
with the limit it broke, moved to the quarantine folder and, when it may be answered, its sender asked to
send the form again in an ordinary email.
"""

from __future__ import annotations

from ingest.context import MessageContext
from ingest.errors import QuarantineMessage
from ingest.loop_guard import no_reply_reason_for
from storage.reasons import Reason, ReasonCode


def quarantine(ctx: MessageContext, code: str, detail: str) -> QuarantineMessage:
    """The control-flow exception that quarantines ``ctx``'s message: answered unless loop rules forbid."""
    reason = Reason(ReasonCode.QUARANTINED, {"limit": code, "detail": detail})
    no_reply = no_reply_reason_for(ctx.message, ctx.settings)
    if no_reply is not None:
        return QuarantineMessage(reason.with_no_reply(no_reply), None)
    return QuarantineMessage(reason, "quarantined", structure_limit=code)


def process(ctx: MessageContext) -> None:
    if ctx.files is None:  # headers only: the size stage has judged it
        return
    if ctx.files.refusal is not None:  # beyond its limits where it was read
        raise quarantine(ctx, *ctx.files.refusal)
    assert ctx.files.parsed is not None  # read within its limits: parsed
    ctx.message = ctx.files.parsed
