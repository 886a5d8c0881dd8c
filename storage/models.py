"""The schema: inbound messages, applications with their form versions, attachments, outgoing replies, staff's
corrections and notes, and a round's decision with its letters (one module: they refer to each other)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, literal_column
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from parsers.form_record import Problem
from parsers.problem_codes import ProblemCode
from storage.model_base import Base, UTCDateTime, utcnow
from storage.reasons import Reason
from storage.staff_models import (
    AuditEntry,
    LoginFailure,
    NamedCounter,
    ServiceStatus,
    StaffSession,
    StaffUser,
    SyncState,
    WorkerLease,
)
from storage.states import DecisionState, LetterState, MessageState, ReplyStatus, shown_status

# the staff and service tables, and the base, are importable from here as before
__all__ = ["Application", "Attachment", "AuditEntry", "Base", "Decision", "DecisionLetter", "FieldCorrection",
           "FieldValueRow", "InboundMessage", "LoginFailure", "NamedCounter", "ProblemRow", "Reply",
           "ServiceStatus", "StaffNote", "StaffSession", "StaffUser", "Submission", "SyncState", "UTCDateTime",
           "WorkerLease", "utcnow"]


class InboundMessage(Base):
    """Every message seen in the mailbox, whatever became of it."""

    __tablename__ = "inbound_message"
    __table_args__ = (UniqueConstraint("folder", "uidvalidity", "uid", name="uq_inbound_message_mailbox_uid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    folder: Mapped[str] = mapped_column(String(255))
    uidvalidity: Mapped[str] = mapped_column(String(64))
    uid: Mapped[str] = mapped_column(String(255))
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    dedupe_key: Mapped[str] = mapped_column(String(1000), index=True)
    sender: Mapped[str] = mapped_column(String(320), default="")
    sender_name: Mapped[str] = mapped_column(String(255), default="")
    reply_address: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    size: Mapped[int] = mapped_column(Integer)
    raw_sha256: Mapped[str | None] = mapped_column(String(64))
    headers_only: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16), default=MessageState.RECEIVED)  # MessageState
    outcome: Mapped[str | None] = mapped_column(String(16))  # Outcome
    reason_code: Mapped[str | None] = mapped_column(String(32))  # ReasonCode (see ``reason``)
    reason_params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"), index=True)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_message.id"))
    # SHA-256 of what the sender wrote (body and describing headers, not transport headers): a redelivery has
    # the same Message-ID and the same digest; the same Message-ID with another digest is another email
    content_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    id_collision_of_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_message.id"))
    moved_to: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    processing_ms: Mapped[int | None] = mapped_column(Integer)  # the pipeline's time for it (metrics)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # personal data deleted (retention)
    # an email that needs a person (storage.attention): who dealt with it, when, how (a Handled) and their note
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    handled_by: Mapped[str | None] = mapped_column(String(320))
    handled_how: Mapped[str | None] = mapped_column(String(16))
    handled_note: Mapped[str | None] = mapped_column(Text)
    assigned_to: Mapped[str | None] = mapped_column(String(320))  # the caseworker it is given to (an email)

    application: Mapped[Application | None] = relationship(back_populates="messages", foreign_keys=[application_id])

    @property
    def reason(self) -> Reason | None:
        """Why it got its outcome: a code with parameters, worded by ``notifications.locale``."""
        return Reason.stored(self.reason_code, self.reason_params)

    @reason.setter
    def reason(self, reason: Reason | None) -> None:
        self.reason_code = None if reason is None else str(reason.code)
        self.reason_params = None if reason is None else dict(reason.params)
    attachments: Mapped[list[Attachment]] = relationship(back_populates="message", order_by="Attachment.id")
    replies: Mapped[list[Reply]] = relationship(back_populates="message", order_by="Reply.id")
    id_collision_of: Mapped[InboundMessage | None] = relationship(
        remote_side=[id], foreign_keys=[id_collision_of_id], back_populates="id_collisions")
    id_collisions: Mapped[list[InboundMessage]] = relationship(
        foreign_keys=[id_collision_of_id], back_populates="id_collision_of", order_by="InboundMessage.id")


class Application(Base):
    __tablename__ = "application"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(32))  # complete | needs_clarification
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    municipality: Mapped[str | None] = mapped_column(String(255))
    municipality_code: Mapped[str | None] = mapped_column(String(3))
    round: Mapped[str | None] = mapped_column(String(32), index=True)  # the round it arrived in; None: the first
    current_submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("submission.id", use_alter=True, name="fk_application_current_submission"))
    # staff's decisions, each written with an audit entry
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reviewed_by: Mapped[str | None] = mapped_column(String(320))
    selected: Mapped[bool] = mapped_column(Boolean, default=False)
    selected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    selected_by: Mapped[str | None] = mapped_column(String(320))
    rejected_reason: Mapped[str | None] = mapped_column(Text)  # set: staff rejected it (their internal note)
    rejected_ground: Mapped[str | None] = mapped_column(Text)  # the ground the municipality's letter gives
    # a late application admitted to the ranking by staff (call.late_policy = "exclude"): why, who, when
    late_admitted_reason: Mapped[str | None] = mapped_column(Text)
    late_admitted_by: Mapped[str | None] = mapped_column(String(320))
    assigned_to: Mapped[str | None] = mapped_column(String(320))  # the caseworker it is given to (an email)
    # bumped by every change to the application's values (a new version, a staff correction): a correction
    # made against an older edit_version is refused instead of silently overwriting the other one
    edit_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # form values deleted (retention)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # one more for every UPDATE of the row, by the ORM or a Core update() alike (never set it by hand): what
    # the web app's ranking cache compares to know nothing changed
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0",
                                          onupdate=literal_column("revision") + 1)

    messages: Mapped[list[InboundMessage]] = relationship(
        back_populates="application", foreign_keys="InboundMessage.application_id", order_by="InboundMessage.id")
    submissions: Mapped[list[Submission]] = relationship(
        back_populates="application", foreign_keys="Submission.application_id", order_by="Submission.id")
    current_submission: Mapped[Submission | None] = relationship(foreign_keys=[current_submission_id],
                                                                 post_update=True)
    attachments: Mapped[list[Attachment]] = relationship(back_populates="application", order_by="Attachment.id")
    replies: Mapped[list[Reply]] = relationship(back_populates="application", order_by="Reply.id")
    corrections: Mapped[list[FieldCorrection]] = relationship(back_populates="application",
                                                              order_by="FieldCorrection.id")
    notes: Mapped[list[StaffNote]] = relationship(back_populates="application", order_by="StaffNote.id")
    decision_letters: Mapped[list[DecisionLetter]] = relationship(back_populates="application",
                                                                  order_by="DecisionLetter.id")

    @property
    def queue_status(self) -> str:
        """What the queue shows: the outcome once its decision letter is released (awarded | declined), else
        rejected by staff, else complete | needs_clarification (``storage.queue_index`` says the same in SQL)."""
        released = next((letter.kind for letter in reversed(self.decision_letters) if letter.reply_id is not None),
                        None)
        return shown_status(self.status, bool(self.rejected_reason), released)


class Submission(Base):
    """One version of the form, as read from one attachment of one message."""

    __tablename__ = "submission"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("inbound_message.id"))
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachment.id"))
    reader: Mapped[str] = mapped_column(String(32))
    complete: Mapped[bool] = mapped_column(Boolean)
    version: Mapped[int] = mapped_column(Integer, default=1)  # 1 = the first form, 2 = the first correction …
    sender: Mapped[str | None] = mapped_column(String(320))  # who sent this version
    after_deadline: Mapped[bool] = mapped_column(Boolean, default=False)  # a correction that came late
    reprocessed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())  # re-read later
    # what the queue's search reads of this version's form (storage.queue_index.form_search_text), written with
    # it so the search reads no field values; None once its values are deleted (retention)
    search_text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    application: Mapped[Application] = relationship(back_populates="submissions", foreign_keys=[application_id])
    attachment: Mapped[Attachment | None] = relationship(foreign_keys=[attachment_id])  # the form's file
    values: Mapped[list[FieldValueRow]] = relationship(back_populates="submission", order_by="FieldValueRow.id")
    problems: Mapped[list[ProblemRow]] = relationship(back_populates="submission", order_by="ProblemRow.id")


class FieldValueRow(Base):
    __tablename__ = "field_value"
    __table_args__ = (UniqueConstraint("submission_id", "key", name="uq_field_value_submission_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"))
    key: Mapped[str] = mapped_column(String(64))
    value: Mapped[Any] = mapped_column(JSON)
    raw: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(255), default="")

    submission: Mapped[Submission] = relationship(back_populates="values")


class ProblemRow(Base):
    __tablename__ = "problem"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    field: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(32))  # ProblemCode
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)

    submission: Mapped[Submission] = relationship(back_populates="problems")

    @classmethod
    def of(cls, problem: Problem) -> ProblemRow:
        return cls(field=problem.field, code=str(problem.code), params=dict(problem.params))

    def problem(self) -> Problem:
        try:
            return Problem(self.field, ProblemCode(self.code), dict(self.params or {}))
        except ValueError:  # a code from a newer version
            return Problem(self.field, ProblemCode.LEGACY, {"text": self.code})


class Attachment(Base):
    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("inbound_message.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16), default="annex")  # form | annex | unreadable
    # why an unreadable file was not opened: ``UnreadableFile.as_dict()`` (code, cause, filename, parameters)
    refusal: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    message: Mapped[InboundMessage] = relationship(back_populates="attachments")
    application: Mapped[Application | None] = relationship(back_populates="attachments")


class Reply(Base):
    """An outgoing reply: written with the state change that caused it, sent afterwards (outbox)."""

    __tablename__ = "reply"
    # the outbox's due replies; the rate limit's count of the last hour's replies
    __table_args__ = (Index("ix_reply_status_next", "status", "next_attempt_at"),
                      Index("ix_reply_created_at", "created_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id_header: Mapped[str] = mapped_column(String(998), unique=True)
    inbound_message_id: Mapped[int] = mapped_column(ForeignKey("inbound_message.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # acknowledgement | clarification | size_rejection | rejection
    to_addr: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    references: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8), default="da")
    status: Mapped[str] = mapped_column(String(16), default=ReplyStatus.PENDING)  # a ReplyStatus
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answer_by: Mapped[datetime | None] = mapped_column(UTCDateTime())  # a clarification: the answer is asked by
    withdrawn_by: Mapped[str | None] = mapped_column(String(320))  # a clarification staff no longer wait for
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reply_to: Mapped[str | None] = mapped_column(String(320))  # a forward: answers go to the municipality
    author: Mapped[str | None] = mapped_column(String(320))  # the caseworker who wrote or forwarded it

    message: Mapped[InboundMessage] = relationship(back_populates="replies")
    application: Mapped[Application | None] = relationship(back_populates="replies")


class FieldCorrection(Base):
    """A field corrected by staff; the value read from the form stays on its submission."""

    __tablename__ = "field_correction"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    original: Mapped[Any] = mapped_column(JSON, nullable=True)
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    raw: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    application: Mapped[Application] = relationship(back_populates="corrections")


class StaffNote(Base):
    __tablename__ = "staff_note"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    author: Mapped[str] = mapped_column(String(320))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    application: Mapped[Application] = relationship(back_populates="notes")


class Decision(Base):
    """A round's selection: proposed by staff, approved (or returned) by an approver. On approval the ranking
    is frozen into ``snapshot`` (inputs, order, ties, the selected, who, when): later corrections of an
    application do not change what was decided. A returned proposal stays as history; staff propose anew."""

    __tablename__ = "decision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round: Mapped[str] = mapped_column(String(32), index=True)
    state: Mapped[str] = mapped_column(String(16))  # a DecisionState
    proposed_by: Mapped[str] = mapped_column(String(320))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    proposal_note: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(320))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    review_comment: Mapped[str | None] = mapped_column(Text)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sent_by: Mapped[str | None] = mapped_column(String(320))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    letters: Mapped[list[DecisionLetter]] = relationship(back_populates="decision", order_by="DecisionLetter.id")


class DecisionLetter(Base):
    """The letter telling one application of the round its outcome with the grounds; drafted on approval,
    edited by staff, sent as a reply in the application's conversation."""

    __tablename__ = "decision_letter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # a LetterKind
    grounds: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # codes and figures, worded by the template
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8), default="da")
    edited_by: Mapped[str | None] = mapped_column(String(320))
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # the words an approver approved (on approving the decision, or this letter after an edit): the letter may
    # be sent only while its subject and body are these
    approved_subject: Mapped[str | None] = mapped_column(Text)
    approved_body: Mapped[str | None] = mapped_column(Text)
    approved_by: Mapped[str | None] = mapped_column(String(320))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reply_id: Mapped[int | None] = mapped_column(ForeignKey("reply.id"))  # set when sent
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    decision: Mapped[Decision] = relationship(back_populates="letters")
    application: Mapped[Application] = relationship(back_populates="decision_letters")
    reply: Mapped[Reply | None] = relationship()

    @property
    def approved(self) -> bool:
        """Approved in the words it has now."""
        return (self.approved_by is not None and self.approved_subject == self.subject
                and self.approved_body == self.body)

    @property
    def state(self) -> LetterState:
        """Where the letter is, from its approval and its reply's real status."""
        if self.reply is not None:
            return {ReplyStatus.SENT: LetterState.SENT, ReplyStatus.FAILED: LetterState.FAILED}.get(
                ReplyStatus(self.reply.status), LetterState.QUEUED)
        if self.decision.state == DecisionState.SENT:
            return LetterState.NO_ADDRESS
        return LetterState.APPROVED if self.approved else LetterState.DRAFTED
