"""What needs a person ("Til behandling"): the inbound emails nobody has dealt with yet that no automatic reply
settles — a question without a form, a follow-up (before or after the decision), a message that failed or was
quarantined — and the round's applications not reviewed or with an overdue clarification. Oldest first.

An email leaves the list when a caseworker answers, forwards or links it, or marks it handled with a note
(``mark_handled``); an application when it is reviewed (or rejected), a clarification when it is answered,
reminded or withdrawn. Each of those is audited by the page that does it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from storage.clarifications import open_clarifications, overdue
from storage.models import Application, InboundMessage, Reply, utcnow
from storage.queries import in_round
from storage.reasons import NoReplyCode, ReasonCode
from storage.states import Attention, Handled, MessageState, Outcome, ReplyKind

# an email turned away for want of a form, not tied to an application: someone wrote to the mailbox
QUESTION_REASONS = (ReasonCode.NO_FORM, ReasonCode.NO_ATTACHMENTS, ReasonCode.ROUND_CLOSED)
FAILING_ATTEMPTS = 3  # an email still in error after this many attempts is shown (the retry button appears)


@dataclass(frozen=True)
class AttentionItem:
    kind: Attention
    since: datetime  # when it started waiting for a person
    message: InboundMessage | None = None
    application: Application | None = None
    clarification: Reply | None = None  # the overdue request

    @property
    def assigned_to(self) -> str | None:
        """The caseworker it is given to: the email's own, else its application's."""
        own = self.message.assigned_to if self.message is not None else None
        return own or (self.application.assigned_to if self.application is not None else None)

    @property
    def key(self) -> tuple[datetime, int, int]:
        return self.since, 0 if self.message is not None else 1, (self.message or self.application).id  # type: ignore[union-attr]


def needs_person() -> ColumnElement[bool]:
    """The emails that wait for a person, as one condition (the list and the menu's count use it alike)."""
    m = InboundMessage
    processed = m.state == MessageState.PROCESSED
    return and_(m.handled_at.is_(None), m.purged_at.is_(None), or_(
        m.state == MessageState.PARKED,
        and_(m.state == MessageState.ERROR, m.attempts >= FAILING_ATTEMPTS),
        and_(processed, m.outcome.in_((Outcome.FOLLOW_UP, Outcome.QUARANTINED))),
        and_(processed, m.outcome == Outcome.REJECTED, m.reason_code.in_([str(c) for c in QUESTION_REASONS]),
             m.application_id.is_(None)),
        and_(processed, _no_reply_code() == str(NoReplyCode.AUTHENTICATION_FAILED))))


def _no_reply_code() -> ColumnElement[str]:
    """The code of why an email got no automatic reply (``reason_params.no_reply.code``), in SQL."""
    return InboundMessage.reason_params["no_reply"]["code"].as_string()


def message_kind(message: InboundMessage, decided_at: datetime | None) -> Attention:
    if message.reason is not None and message.reason.no_reply_code == NoReplyCode.AUTHENTICATION_FAILED:
        return Attention.FORGED
    if message.state != MessageState.PROCESSED or message.outcome == Outcome.QUARANTINED:
        return Attention.TROUBLE
    if message.outcome == Outcome.FOLLOW_UP:
        return Attention.AFTER_DECISION if decided_at is not None and decided_at <= message.received_at \
            else Attention.FOLLOW_UP
    return Attention.QUESTION


def decided_at(session: Session, application_ids: Iterable[int]) -> dict[int, datetime]:
    """When each application's first decision letter was written (queued), by application id."""
    ids = sorted(set(application_ids))
    found: dict[int, datetime] = {}
    for start in range(0, len(ids), 500):
        found.update((application_id, at) for application_id, at in session.execute(
            select(Reply.application_id, func.min(Reply.created_at))
            .where(Reply.kind == ReplyKind.DECISION, Reply.application_id.in_(ids[start:start + 500]))
            .group_by(Reply.application_id)) if application_id is not None)
    return found


def waiting_messages(session: Session) -> list[AttentionItem]:
    messages = list(session.scalars(select(InboundMessage).where(needs_person()).options(
        selectinload(InboundMessage.application), selectinload(InboundMessage.attachments))
        .order_by(InboundMessage.received_at, InboundMessage.id)))
    decided = decided_at(session, (m.application_id for m in messages if m.application_id is not None))
    return [AttentionItem(message_kind(m, decided.get(m.application_id or 0)), m.received_at, message=m,
                          application=m.application) for m in messages]


def _unreviewed(round_name: str, first_round: str) -> ColumnElement[bool]:
    return and_(in_round(round_name, first_round), Application.reviewed_at.is_(None),
                Application.rejected_reason.is_(None))


def waiting_applications(session: Session, round_name: str, first_round: str, now: datetime | None = None
                         ) -> list[AttentionItem]:
    now = now or utcnow()
    late = {i: r for i, r in open_clarifications(session, round_name, first_round).items() if overdue(r, now)}
    wanted = or_(_unreviewed(round_name, first_round), Application.id.in_(list(late)))
    items = []
    for application in session.scalars(select(Application).where(wanted).order_by(Application.received_at)):
        if application.id in late:
            reply = late[application.id]
            items.append(AttentionItem(Attention.OVERDUE, reply.answer_by or reply.created_at,
                                       application=application, clarification=reply))
        if application.reviewed_at is None and application.rejected_reason is None:
            items.append(AttentionItem(Attention.NOT_REVIEWED, application.received_at, application=application))
    return items


def attention_items(session: Session, round_name: str, first_round: str, now: datetime | None = None
                    ) -> list[AttentionItem]:
    """Everything that waits for a person, oldest first."""
    items = waiting_messages(session) + waiting_applications(session, round_name, first_round, now)
    return sorted(items, key=lambda item: item.key)


def attention_count(session: Session, round_name: str, first_round: str, now: datetime | None = None) -> int:
    """How many things ``attention_items`` lists, without loading them (the menu shows it on every page)."""
    emails = session.scalar(select(func.count(InboundMessage.id)).where(needs_person())) or 0
    unreviewed = session.scalar(select(func.count(Application.id)).where(_unreviewed(round_name, first_round))) or 0
    now = now or utcnow()
    late = sum(1 for reply in open_clarifications(session, round_name, first_round).values() if overdue(reply, now))
    return emails + unreviewed + late


def mark_handled(session: Session, message: InboundMessage, email: str, how: Handled, note: str | None = None
                 ) -> bool:
    """Record that ``email`` dealt with ``message``; False (nothing changed) when someone already had. One
    conditional UPDATE: of two caseworkers answering at once, the second waits for the first's commit and then
    finds the email handled, so it is answered once."""
    result = session.execute(
        update(InboundMessage).where(InboundMessage.id == message.id, InboundMessage.handled_at.is_(None))
        .values(handled_at=utcnow(), handled_by=email, handled_how=how, handled_note=note or None)
        .execution_options(synchronize_session=False))
    session.refresh(message, ["handled_at", "handled_by", "handled_how", "handled_note"])
    return bool(result.rowcount)  # type: ignore[attr-defined]


def reopen(session: Session, message: InboundMessage) -> None:
    """Put a handled email back on the list (it needed more than was done)."""
    session.execute(update(InboundMessage).where(InboundMessage.id == message.id)
                    .values(handled_at=None, handled_by=None, handled_how=None, handled_note=None)
                    .execution_options(synchronize_session=False))
    session.refresh(message, ["handled_at", "handled_by", "handled_how", "handled_note"])
