"""Stage: never answer auto-replies, bounces or lists (RFC 3834, RFC 5230 §4.5-4.6); record them as ignored.

A bounce of one of our replies marks that reply as failed, so staff see the sender never got it.
"""

from __future__ import annotations

import email
import re
from email.message import Message

from sqlalchemy import select

from ingest.context import MessageContext
from ingest.errors import IgnoreMessage
from ingest.loop_guard import is_bounce, no_reply_reason_for
from ingest.mime import clean, header
from storage import Reply
from storage.reasons import Reason, ReasonCode
from storage.states import ReplyStatus

_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


def _returned_message_ids(message: Message) -> list[str]:
    """Message-IDs the bounce refers to: its own threading headers and the headers of the returned message."""
    ids = _MESSAGE_ID.findall(header(message, "In-Reply-To") + " " + header(message, "References"))
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                ids += _MESSAGE_ID.findall(header(inner, "Message-ID"))
        elif kind in {"text/rfc822-headers", "message/rfc822-headers"}:
            payload = part.get_payload(decode=True)
            returned = email.message_from_bytes(payload if isinstance(payload, bytes) else b"")
            ids += _MESSAGE_ID.findall(header(returned, "Message-ID"))
    return list(dict.fromkeys(ids))


def _diagnostic(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "message/delivery-status":
            text = str(part)
            found = re.search(r"(?im)^diagnostic-code:\s*(.+)$", text) or re.search(r"(?im)^status:\s*(.+)$", text)
            if found:
                return clean(found.group(1), 300)
    return clean(header(message, "Subject"), 300)


def _mark_bounced_reply(ctx: MessageContext) -> Reply | None:
    for message_id in _returned_message_ids(ctx.message):
        reply = ctx.session.scalars(select(Reply).where(Reply.message_id_header == message_id)).first()
        if reply is not None:
            reply.status = ReplyStatus.FAILED
            reply.last_error = f"bounced: {_diagnostic(ctx.message)}"[:2000]
            if reply.application_id is not None:
                ctx.row.application_id = reply.application_id
            return reply
    return None


def process(ctx: MessageContext) -> None:
    no_reply = no_reply_reason_for(ctx.message, ctx.settings)
    if no_reply is None:
        return
    reason = Reason(ReasonCode.NOT_ANSWERED).with_no_reply(no_reply)
    if is_bounce(ctx.message) and (reply := _mark_bounced_reply(ctx)) is not None:
        reason = Reason(reason.code, {**reason.params, "bounced_reply": reply.message_id_header,
                                      "bounced_to": reply.to_addr})
    raise IgnoreMessage(reason)
