"""A round's decision and its letters (see ``web/decisions.py`` for the steps that write them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models import Application, Base, Reply, UTCDateTime, utcnow
from storage.states import DecisionState, LetterState, ReplyStatus


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
