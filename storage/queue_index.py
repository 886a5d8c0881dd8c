"""The queue's index: one light row per application (a few columns, counts and the last reply, no ORM objects),
enough to count, filter, search and sort every application; only the page shown is then loaded whole."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, null, select
from sqlalchemy.orm import Session

from storage.models import Application, DecisionLetter, FieldCorrection, ProblemRow, Reply, Submission
from storage.states import shown_status

EARLIEST = datetime.min.replace(tzinfo=UTC)
SEARCHED_FIELDS = frozenset({"partners", "contact_email"})  # what the queue's search reads of the form


@dataclass
class QueueEntry:
    """One application as the queue counts, filters and sorts it. ``problems`` is the number stored with the
    current version; for a ``corrected`` application the caller works it out afresh (corrections change it)."""

    id: int
    reference: str
    municipality: str | None
    received_at: datetime
    late: bool
    status: str  # complete | needs_clarification | rejected (by staff)
    corrected: bool
    problems: int
    last_reply_at: datetime | None
    haystack: str  # what the search looks in, casefolded
    reviewed: bool = False
    assigned_to: str | None = None

    def sort_key(self, column: str) -> Any:
        return {
            "reference": self.reference, "municipality": (self.municipality or "").casefold(),
            "received": self.received_at, "status": self.status, "late": self.late, "problems": self.problems,
            "last_reply": self.last_reply_at or EARLIEST,
        }[column]

    def matches(self, text: str) -> bool:
        needle = text.casefold().strip()
        return not needle or needle in self.haystack


def queue_index(session: Session, search: bool = True, where: ColumnElement[bool] | None = None
                ) -> list[QueueEntry]:
    """Every application, oldest first, in one light query whatever their number (without ``search`` the
    haystack holds only the reference and the municipality)."""
    problems = (select(func.count(ProblemRow.id)).where(ProblemRow.submission_id == Application.current_submission_id)
                .correlate(Application).scalar_subquery())
    corrected = (select(func.count(FieldCorrection.id)).where(FieldCorrection.application_id == Application.id)
                 .correlate(Application).scalar_subquery())
    last_reply = (select(Reply.created_at).where(Reply.application_id == Application.id)
                  .order_by(Reply.id.desc()).limit(1).correlate(Application).scalar_subquery())
    form_text = (select(Submission.search_text).where(Submission.id == Application.current_submission_id)
                 .correlate(Application).scalar_subquery())
    released = (select(DecisionLetter.kind).where(DecisionLetter.application_id == Application.id,
                                                  DecisionLetter.reply_id.is_not(None))
                .order_by(DecisionLetter.id.desc()).limit(1).correlate(Application).scalar_subquery())
    query = select(Application.id, Application.reference, Application.municipality, Application.received_at,
                   Application.late, Application.status, Application.rejected_reason, corrected, problems,
                   last_reply, form_text if search else null(), Application.reviewed_at, Application.assigned_to,
                   released)
    if where is not None:
        query = query.where(where)
    rows = session.execute(query.order_by(Application.received_at, Application.id)).all()
    return [QueueEntry(id=row_id, reference=reference, municipality=municipality, received_at=received_at,
                       late=bool(late), status=shown_status(status, bool(rejected), letter),
                       corrected=bool(corrections), problems=int(count or 0), last_reply_at=last_at,
                       haystack=search_text(reference, municipality, text), reviewed=reviewed_at is not None,
                       assigned_to=assigned_to)
            for (row_id, reference, municipality, received_at, late, status, rejected, corrections, count, last_at,
                 text, reviewed_at, assigned_to, letter) in rows]


def form_search_text(fields: Mapping[str, Any]) -> str:
    """What the queue's search reads of a form (``SEARCHED_FIELDS``): the partners' municipalities and the
    contact's e-mail address, casefolded."""
    partners = " ".join(str(p.get("municipality") or "") for p in (fields.get("partners") or [])
                        if isinstance(p, dict))
    return " ".join([partners, str(fields.get("contact_email") or "")]).casefold()


def search_text(reference: str, municipality: str | None, form_text: str | None) -> str:
    """What the queue's search looks in: the reference, the municipality and what it reads of the form."""
    return " ".join([reference, municipality or "", form_text or ""]).casefold()
