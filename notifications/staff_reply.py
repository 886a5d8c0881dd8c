"""What a caseworker writes in the web app: a reply to a municipality's email (threaded under it, the email
quoted below) and a question forwarded to the call's questions address (answers go to the municipality).

Both are rendered from templates like the automatic replies, keep the caseworker's line breaks, name their
author, and wait in the same outbox; neither carries ``Auto-Submitted`` (a person wrote them) nor is held by
the automatic replies' rate limit (a person decided to send them).
"""

from __future__ import annotations

import re
from typing import Any

from config import Settings
from notifications.compose import header_safe, new_message_id
from notifications.render import RenderedReply, render_reply
from notifications.reply_queue import base_context
from parsers.display_text import visible_text
from storage.models import InboundMessage, Reply
from storage.states import ReplyStatus

_ANSWERED_SUBJECT = re.compile(r"^\s*(sv|re|aw|vs|fw|fwd)\s*:", re.I)
MAX_QUOTED_LINES = 200
MAX_TEXT = 20_000  # what a caseworker may write in one reply


def sender_line(row: InboundMessage) -> str:
    name = visible_text(row.sender_name or "", 200)
    return f"{name} <{row.sender}>" if name and row.sender else (row.sender or name or "afsenderen")


def quoted(text: str) -> str:
    """``text`` as a reply quotes it: every line after "> " (at most MAX_QUOTED_LINES of them)."""
    lines = text.split("\n")
    shown = [f"> {line}".rstrip() for line in lines[:MAX_QUOTED_LINES]]
    if len(lines) > MAX_QUOTED_LINES:
        shown.append("> […]")
    return "\n".join(shown)


def reply_subject(row: InboundMessage, reference: str | None, language: str) -> str:
    subject = header_safe(row.subject, 200) or ("(uden emne)" if language == "da" else "(no subject)")
    if not _ANSWERED_SUBJECT.match(subject):
        subject = f"{'Sv' if language == 'da' else 'Re'}: {subject}"
    if reference and reference not in subject:
        subject = f"[{reference}] {subject}"
    return subject


def _context(row: InboundMessage, settings: Settings, author: str) -> dict[str, Any]:
    application = row.application
    reference = application.reference if application is not None else None
    return {**base_context(row, settings, application), "author": author, "reference": reference,
            "sender_line": sender_line(row), "sender_address": row.reply_address or row.sender}


def render_staff_reply(row: InboundMessage, settings: Settings, author: str, text: str, mail_text: str
                       ) -> RenderedReply:
    """The reply as it will be sent (the preview shows exactly this)."""
    context = _context(row, settings, author)
    context.update(text=text.replace("\r\n", "\n").strip("\n"), quoted=quoted(mail_text) if mail_text else "",
                   reply_subject=reply_subject(row, context["reference"], settings.call.language))
    return render_reply("staff_reply", context, settings.call.language, settings.call.template_dir)


def render_forward(row: InboundMessage, settings: Settings, author: str, note: str, mail_text: str
                   ) -> RenderedReply:
    context = _context(row, settings, author)
    context.update(note=visible_text(note, 2000), quoted_text=mail_text,
                   attachments=[visible_text(f.filename, 200) for f in row.attachments])
    return render_reply("forward", context, settings.call.language, settings.call.template_dir)


def _references(row: InboundMessage) -> str | None:
    chain = [*(r.message_id_header for r in row.replies[-1:]), row.message_id or ""]
    references = " ".join(dict.fromkeys(ref for ref in chain if ref.startswith("<")))
    return references or None


def queue_staff_reply(row: InboundMessage, settings: Settings, author: str, text: str, mail_text: str
                      ) -> Reply | None:
    """The caseworker's reply to ``row``'s sender, pending in the outbox; None when ``row`` has no address."""
    if not row.reply_address:
        return None
    rendered = render_staff_reply(row, settings, author, text, mail_text)
    return _pending(row, settings, rendered, row.reply_address, author, in_reply_to=row.message_id)


def queue_forward(row: InboundMessage, settings: Settings, author: str, note: str, mail_text: str) -> Reply:
    """``row`` passed on to ``call.questions_address``, answers going to the municipality (Reply-To)."""
    rendered = render_forward(row, settings, author, note, mail_text)
    reply = _pending(row, settings, rendered, settings.call.questions_address, author, in_reply_to=None)
    reply.reply_to = row.reply_address or None
    return reply


def _pending(row: InboundMessage, settings: Settings, rendered: RenderedReply, to_addr: str, author: str,
             in_reply_to: str | None) -> Reply:
    reply = Reply(message_id_header=new_message_id(settings.smtp.sender), kind=rendered.kind, to_addr=to_addr,
                  subject=header_safe(rendered.subject), in_reply_to=in_reply_to, references=_references(row),
                  body=rendered.body, language=rendered.language, status=ReplyStatus.PENDING, author=author)
    row.replies.append(reply)
    if row.application is not None:
        row.application.replies.append(reply)
    return reply
