"""A clarification request is open from the moment it is queued until the municipality answers (an email of
theirs tied to the application, stored after the one the request answered), or staff withdraw it; open past
its answer-by date, it is overdue.
A round's decision letters are not sent while any clarification of the round is open."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Application, InboundMessage, Reply, utcnow
from storage.queries import in_round
from storage.states import MessageState, Outcome, ReplyKind

ANSWERS = (Outcome.APPLICATION, Outcome.FOLLOW_UP)  # an auto-reply or a duplicate is no answer


def open_clarification(application: Application) -> Reply | None:
    """The application's newest clarification request when nothing has answered it and it is not withdrawn."""
    asked = [r for r in application.replies if r.kind == ReplyKind.CLARIFICATION]
    if not asked:
        return None
    latest = max(asked, key=lambda r: (r.created_at, r.id))
    if latest.withdrawn_at is not None:
        return None
    answered = any(m.state == MessageState.PROCESSED and m.outcome in ANSWERS and m.id > latest.inbound_message_id
                   for m in application.messages)  # the same rule as open_clarifications, on loaded rows
    return None if answered else latest


def overdue(reply: Reply | None, now: datetime | None = None) -> bool:
    return reply is not None and reply.answer_by is not None and reply.answer_by < (now or utcnow())


def open_clarifications(session: Session, round_name: str, first_round: str) -> dict[int, Reply]:
    """Every open clarification of the round's applications, by application id (three queries, whatever the
    round's size)."""
    latest = (select(Reply.application_id, func.max(Reply.id).label("id"))
              .join(Application, Application.id == Reply.application_id)
              .where(Reply.kind == ReplyKind.CLARIFICATION, in_round(round_name, first_round))
              .group_by(Reply.application_id).subquery())
    asked = {reply.application_id: reply for reply in session.scalars(
        select(Reply).join(latest, Reply.id == latest.c.id).where(Reply.withdrawn_at.is_(None)))
        if reply.application_id is not None}
    if not asked:
        return {}
    answers: dict[int | None, int] = {}  # each application's newest answering message
    ids = list(asked)
    for start in range(0, len(ids), 500):
        for application_id, newest in session.execute(
                select(InboundMessage.application_id, func.max(InboundMessage.id))
                .where(InboundMessage.application_id.in_(ids[start:start + 500]),
                       InboundMessage.state == MessageState.PROCESSED, InboundMessage.outcome.in_(ANSWERS))
                .group_by(InboundMessage.application_id)):
            answers[application_id] = newest
    return {application_id: reply for application_id, reply in asked.items()
            if answers.get(application_id, 0) <= reply.inbound_message_id}


def withdraw(reply: Reply, email: str) -> None:
    """Staff no longer wait for the answer to ``reply``; the application's row changes with it (an open
    decision shows the application as changed since its snapshot)."""
    reply.withdrawn_by, reply.withdrawn_at = email, utcnow()
    if reply.application is not None:
        reply.application.updated_at = utcnow()
