"""Queue a reply: render it, fix its Message-ID, and add it to the session (sent later by the outbox)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import object_session

from config import Settings
from config.rounds import Round, round_at, stored_round
from notifications import header_safe, new_message_id, render_reply
from notifications.locale import date_text, time_text
from notifications.render import TEMPLATE_KIND, RenderedReply
from parsers.display_text import visible_text as clean
from storage import Application, InboundMessage, Reply
from storage.models import utcnow
from storage.states import ReplyKind, ReplyStatus

log = logging.getLogger(__name__)


def round_of(settings: Settings, row: InboundMessage, application: Application | None = None) -> Round | None:
    """The application's round (None stored: the first), else the round open when ``row`` arrived."""
    rounds = settings.call_rounds
    if application is not None:
        return stored_round(rounds, application.round)
    return round_at(rounds, row.received_at)


def base_context(row: InboundMessage, settings: Settings, application: Application | None = None
                 ) -> dict[str, Any]:
    found = round_of(settings, row, application)
    deadline = found.deadline if found is not None else settings.call.deadline
    return {
        "subject": header_safe(row.subject, 200),
        "received_local": time_text(row.received_at, settings.call.language, settings.call.zone),
        "deadline_local": time_text(deadline, settings.call.language, settings.call.zone),
        "questions_address": settings.call.questions_address,
        "late": row.received_at > deadline,
        "greeting": clean(row.sender_name or ""),  # "Kære Lone Friis"; a template's own greeting wins
    }


def render_for(row: InboundMessage, settings: Settings, template: str, context: dict[str, Any],
               application: Application | None = None) -> tuple[RenderedReply, datetime | None]:
    """The reply to ``row`` as it would be queued now (a preview shows exactly this), and for a clarification
    request the time it asks an answer by (within call.clarification_days)."""
    answer_by = None
    if TEMPLATE_KIND[template] == ReplyKind.CLARIFICATION:
        answer_by = answer_by_for(settings)
        context = {**context, "answer_by_local": date_text(answer_by.astimezone(settings.call.zone).date(),
                                                           settings.call.language)}
    rendered = render_reply(template, {**base_context(row, settings, application), **context}, settings.call.language,
                            settings.call.template_dir)
    return rendered, answer_by


def queue_reply(row: InboundMessage, settings: Settings, template: str, context: dict[str, Any],
                application: Application | None = None, prior_references: str = "") -> Reply | None:
    """A pending reply to ``row``'s sender, or None when it has no address to answer."""
    if not row.reply_address:
        return None
    rendered, answer_by = render_for(row, settings, template, context, application)
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
        language=rendered.language,
        status=ReplyStatus.PENDING,
        answer_by=answer_by,
    )
    held = _rate_limited(row, settings, reply.to_addr)
    if held:
        reply.status, reply.last_error = ReplyStatus.HELD, held
        log.warning("reply to message #%s held by the rate limit", row.id)  # the address only in the row
    # set from the reply's side: the message's and the application's reply lists are not loaded to add it
    reply.message, reply.application = row, application
    session = object_session(row)
    if session is not None:
        session.add(reply)
    return reply


def answer_by_for(settings: Settings) -> datetime:
    """The end of the day, in the call's zone, ``call.clarification_days`` from today."""
    zone = settings.call.zone
    day = (utcnow().astimezone(zone) + timedelta(days=settings.call.clarification_days)).date()
    return datetime.combine(day, time(23, 59, 59), zone).astimezone(UTC)


def _rate_limited(row: InboundMessage, settings: Settings, to_addr: str) -> str | None:
    """Why a reply must not go out automatically (too many to this recipient, or in all, this last hour)."""
    session = object_session(row)
    if session is None:
        return None
    since = utcnow() - timedelta(hours=1)
    to_recipient = func.lower(Reply.to_addr) == to_addr.lower()
    overall, to_them = session.execute(  # both counts in one query over the last hour's replies
        select(func.count(Reply.id), func.coalesce(func.sum(case((to_recipient, 1), else_=0)), 0))
        .where(Reply.created_at >= since, Reply.status != ReplyStatus.HELD)).one()
    if to_them >= settings.smtp.max_per_recipient_per_hour:
        return f"rate limit: {to_them} replies to {to_addr} in the last hour"
    if overall >= settings.smtp.max_per_hour:
        return f"rate limit: {overall} replies in the last hour"
    return None


def letter_message(application: Application) -> InboundMessage | None:
    """The message a decision letter answers: the one that brought the current form, else the newest with an
    address to answer; None when no message of the application has one."""
    messages = [m for m in application.messages if m.reply_address]
    if not messages:
        return None
    current = application.current_submission
    return next((m for m in messages if current is not None and m.id == current.message_id), messages[-1])


def queue_letter(application: Application, settings: Settings, subject: str, body: str, language: str
                 ) -> Reply | None:
    """A decision letter as a pending reply in the application's conversation: to the sender of the message
    that brought its current form, threaded under it; None when no message of it has an address to answer."""
    message = letter_message(application)
    if message is None:
        return None
    earlier = [application.messages[0].message_id or "", *(r.message_id_header for r in application.replies[-1:])]
    references = " ".join(dict.fromkeys(ref for ref in [*earlier, message.message_id or ""] if ref.startswith("<")))
    reply = Reply(message_id_header=new_message_id(settings.smtp.sender), kind=ReplyKind.DECISION,
                  to_addr=message.reply_address, subject=header_safe(subject), in_reply_to=message.message_id,
                  references=references or None, body=body, language=language, status=ReplyStatus.PENDING)
    message.replies.append(reply)
    application.replies.append(reply)
    return reply
