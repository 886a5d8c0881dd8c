"""Queue a reply: render it, fix its Message-ID, and add it to the session (sent later by the outbox)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from config import Settings
from ingest.mime import clean
from notifications import header_safe, new_message_id, render_reply
from storage import Application, InboundMessage, Reply


def danish_time(when: datetime, settings: Settings) -> str:
    local = when.astimezone(settings.call.zone)
    return f"{local:%d-%m-%Y} kl. {local:%H.%M}"


def base_context(row: InboundMessage, settings: Settings) -> dict[str, Any]:
    return {
        "subject": header_safe(row.subject, 200),
        "received_local": danish_time(row.received_at, settings),
        "deadline_local": danish_time(settings.call.deadline, settings),
        "questions_address": settings.call.questions_address,
        "late": row.received_at > settings.call.deadline,
    }


def queue_reply(row: InboundMessage, settings: Settings, template: str, context: dict[str, Any],
                application: Application | None = None, prior_references: str = "") -> Reply | None:
    """A pending reply to ``row``'s sender, or None when it has no address to answer."""
    if not row.reply_address:
        return None
    rendered = render_reply(template, {**base_context(row, settings), **context})
    chain = [*clean(prior_references).split()[-10:], clean(row.message_id or "")]
    references = " ".join(dict.fromkeys(ref for ref in chain if ref.startswith("<")))
    reply = Reply(
        message_id_header=new_message_id(settings.smtp.sender),
        kind=rendered.kind,
        to_addr=row.reply_address,
        subject=header_safe(rendered.subject),
        in_reply_to=row.message_id,
        references=references or None,
        body=rendered.body,
        status="pending",
    )
    row.replies.append(reply)
    if application is not None:
        application.replies.append(reply)
    return reply
