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
from ingest.message_reading import MessageStructureError, read_message

# why, in the reply's words (Danish and English), for each limit
WHY = {
    "da": {
        "too_deep": "den består af for mange e-mails inde i hinanden",
        "too_many_parts": "den har for mange dele og vedhæftede filer",
        "too_many_headers": "den har for mange brevhoveder",
        "header_line_too_long": "et af dens brevhoveder er for langt",
        "unparseable": "dens opbygning ikke kunne læses",
        "worker_gave_up": "den fik behandlingen til at fejle flere gange",
    },
    "en": {
        "too_deep": "it consists of too many emails nested inside each other",
        "too_many_parts": "it has too many parts and attachments",
        "too_many_headers": "it has too many header fields",
        "header_line_too_long": "one of its header lines is too long",
        "unparseable": "its structure could not be read",
        "worker_gave_up": "processing it failed several times",
    },
}


def quarantine(ctx: MessageContext, code: str, detail: str) -> QuarantineMessage:
    """The control-flow exception that quarantines ``ctx``'s message: answered unless loop rules forbid."""
    reason = f"quarantined: {code} ({detail})"
    no_reply = no_reply_reason_for(ctx.message, ctx.settings)
    if no_reply is not None:
        return QuarantineMessage(f"{reason}; no automatic reply: {no_reply}", None)
    return QuarantineMessage(reason, "quarantined", why=WHY[ctx.settings.call.language].get(code, code))


def process(ctx: MessageContext) -> None:
    if ctx.raw is None:  # a test built the context from a parsed message
        return
    try:
        ctx.message = read_message(ctx.raw)
    except MessageStructureError as error:
        raise quarantine(ctx, error.code, error.detail) from error
