"""What staff read: messages and applications as plain dicts (the JSON contract of the CLI)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from storage.models import Application, FieldCorrection, FieldValueRow, InboundMessage, Reply, Submission
from storage.states import MessageState, Outcome


def find_message(session: Session, folder: str, uidvalidity: str, uid: str) -> InboundMessage | None:
    return session.scalar(select(InboundMessage).where(
        InboundMessage.folder == folder, InboundMessage.uidvalidity == uidvalidity, InboundMessage.uid == uid))


@dataclass(frozen=True)
class Sameness:
    """What earlier messages ``row`` repeats: ``duplicate_of`` the same email (same Message-ID and the same
    content), or only ``collides_with`` one that carries the same Message-ID with other content."""

    duplicate_of: InboundMessage | None = None
    collides_with: InboundMessage | None = None


def find_duplicate(session: Session, row: InboundMessage) -> Sameness:
    """Earlier processed messages with ``row``'s Message-ID (or, without one, its content digest)."""
    earlier = list(session.scalars(
        select(InboundMessage)
        .where(InboundMessage.dedupe_key == row.dedupe_key, InboundMessage.state == MessageState.PROCESSED,
               InboundMessage.outcome != Outcome.DUPLICATE, InboundMessage.id != row.id)
        .order_by(InboundMessage.id).limit(50)))
    for original in earlier:
        # rows from before digests were kept count as the same email, as they did then
        if original.content_digest in (None, row.content_digest) and original.headers_only == row.headers_only:
            return Sameness(duplicate_of=original)
    return Sameness(collides_with=earlier[0] if earlier else None)


def reply_view(reply: Reply) -> dict[str, Any]:
    return {
        "kind": reply.kind,
        "to": reply.to_addr,
        "subject": reply.subject,
        "message_id": reply.message_id_header,
        "status": reply.status,
        "attempts": reply.attempts,
        "last_error": reply.last_error,
        "created_at": reply.created_at.isoformat(),
        "sent_at": reply.sent_at.isoformat() if reply.sent_at else None,
    }


def reason_view(message: InboundMessage) -> dict[str, Any] | None:
    """The reason as stored (code and parameters); ``notifications.locale.reason_text`` words it."""
    reason = message.reason
    return None if reason is None else {"code": str(reason.code), "params": reason.params}


def message_view(message: InboundMessage) -> dict[str, Any]:
    return {
        "message_id": message.message_id,
        "sender": message.sender,
        "subject": message.subject,
        "received_at": message.received_at.isoformat(),
        "size": message.size,
        "state": message.state,
        "outcome": message.outcome,
        "reason": reason_view(message),
        "error": message.error if message.state in (MessageState.ERROR, MessageState.PARKED) else None,
        "attempts": message.attempts,
        # another email carried the same Message-ID with other content (both were processed)
        "same_message_id_as": message.id_collision_of_id,
        "reference": message.application.reference if message.application else None,
        "folder": message.moved_to or message.folder,
        "replies": [reply_view(r) for r in message.replies],
    }


def submission_fields(submission: Submission | None) -> dict[str, Any]:
    return {} if submission is None else {v.key: v.value for v in submission.values}


def application_view(application: Application) -> dict[str, Any]:
    submission = application.current_submission
    fields = submission_fields(submission)
    fields["municipality_code"] = application.municipality_code
    return {
        "reference": application.reference,
        "status": application.status,
        "late": application.late,
        "received_at": application.received_at.isoformat(),
        "municipality": application.municipality,
        "fields": fields,
        "sources": {v.key: v.source for v in submission.values} if submission else {},
        "problems": [{"field": p.field, "label": p.problem().label, "code": p.code, "params": p.params}
                     for p in (submission.problems if submission else [])],
        "message_ids": [m.message_id for m in application.messages],
        "attachments": [{"filename": a.filename, "content_type": a.content_type, "size": a.size,
                         "role": a.role, "sha256": a.sha256} for a in application.attachments],
        "replies": [reply_view(r) for r in application.replies],
        "versions": [{"version": v.version, "sender": v.sender, "received_at": v.created_at.isoformat(),
                      "reader": v.reader, "complete": v.complete, "after_deadline": v.after_deadline,
                      "current": v.id == application.current_submission_id, "problems": len(v.problems)}
                     for v in application.submissions],
        "conversation": conversation(application),
    }


def message_threads(application: Application) -> list[tuple[InboundMessage, list[Reply]]]:
    """Every message in, with the replies it caused, in the order the messages arrived."""
    replies: dict[int, list[Reply]] = {}
    for r in application.replies:
        replies.setdefault(r.inbound_message_id, []).append(r)
    return [(m, replies.get(m.id, [])) for m in sorted(application.messages, key=lambda m: (m.received_at, m.id))]


def conversation(application: Application) -> list[dict[str, Any]]:
    """Every message in, each followed by the replies it caused, in the order the messages arrived."""
    events: list[dict[str, Any]] = []
    for m, replies in message_threads(application):
        events.append({"direction": "in", "id": m.id, "at": m.received_at.isoformat(), "message_id": m.message_id,
                       "from": m.sender, "subject": m.subject, "outcome": m.outcome, "reason": reason_view(m)})
        events.extend({"direction": "out", "id": r.id, "at": (r.sent_at or r.created_at).isoformat(), "kind": r.kind,
                       "message_id": r.message_id_header, "to": r.to_addr, "subject": r.subject,
                       "in_reply_to": r.in_reply_to, "status": r.status} for r in replies)
    return events


def list_messages(session: Session) -> list[InboundMessage]:
    return list(session.scalars(select(InboundMessage).options(
        selectinload(InboundMessage.replies), selectinload(InboundMessage.application))
        .order_by(InboundMessage.received_at, InboundMessage.id)))


def _application_query() -> Any:
    return select(Application).options(
        selectinload(Application.current_submission).selectinload(Submission.values),
        selectinload(Application.current_submission).selectinload(Submission.problems),
        selectinload(Application.messages), selectinload(Application.replies),
        selectinload(Application.submissions).selectinload(Submission.problems),
        selectinload(Application.attachments))


def list_applications(session: Session) -> list[Application]:
    return list(session.scalars(_application_query().order_by(Application.received_at, Application.id)))


def get_application(session: Session, reference: str) -> Application | None:
    return session.scalar(_application_query().where(Application.reference == reference.strip().upper()))


class Versioned(Protocol):
    """What ``current_values`` reads of an application: its id and its current version's."""

    @property
    def id(self) -> int: ...

    @property
    def current_submission_id(self) -> int | None: ...


def current_values(session: Session, applications: Sequence[Versioned], keys: frozenset[str] | None = None
                   ) -> dict[int, dict[str, tuple[Any, str]]]:
    """Per application id, its current version's fields as {key: (value, source)}: one light query, no ORM rows
    (the ranking reads every field of every application; the queue's page only ``keys``)."""
    by_submission = {a.current_submission_id: a.id for a in applications if a.current_submission_id is not None}
    found: dict[int, dict[str, tuple[Any, str]]] = {a.id: {} for a in applications}
    ids = list(by_submission)
    columns = select(FieldValueRow.submission_id, FieldValueRow.key, FieldValueRow.value, FieldValueRow.source)
    if keys is not None:
        columns = columns.where(FieldValueRow.key.in_(sorted(keys)))
    for start in range(0, len(ids), 500):
        rows = session.execute(columns.where(FieldValueRow.submission_id.in_(ids[start:start + 500])))
        for submission_id, key, value, source in rows:
            found[by_submission[submission_id]][key] = (value, source)
    return found


def claim_edit(session: Session, application: Application, expected: int | None) -> bool:
    """Bump the application's edit version if it is still ``expected`` (one atomic UPDATE: of two staff
    correcting at once, one wins and the other is told); ``expected`` None skips the check."""
    condition = [Application.id == application.id]
    if expected is not None:
        condition.append(Application.edit_version == expected)
    result = session.execute(update(Application).where(*condition)
                             .values(edit_version=Application.edit_version + 1)
                             .execution_options(synchronize_session=False))
    session.refresh(application)
    return bool(result.rowcount)  # type: ignore[attr-defined]


def in_round(name: str, first_round: str) -> ColumnElement[bool]:
    """Applications of the round ``name``; those stored before rounds existed (round NULL) belong to the first
    round, ``first_round``."""
    if name == first_round:
        return or_(Application.round == name, Application.round.is_(None))
    return Application.round == name


def ranking_inputs(session: Session, round_name: str, first_round: str) -> tuple[object, ...]:
    """What changes whenever anything the round's ranking reads changes: every application of the round as
    (id, revision), its revision bumped by each UPDATE of the row, and the corrections as (count, last id).
    Applications are never deleted and revisions only grow, so a state passed never comes back."""
    applications = tuple(tuple(row) for row in session.execute(
        select(Application.id, Application.revision).where(in_round(round_name, first_round))
        .order_by(Application.id)))
    corrections = tuple(session.execute(select(func.count(FieldCorrection.id), func.max(FieldCorrection.id))).one())
    return applications, corrections
