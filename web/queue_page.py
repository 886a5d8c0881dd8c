"""The queue (every application, filtered, searched, sorted, counted), its export, and every inbound message."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from starlette.responses import Response

from config import Settings
from notifications.locale import problem_text
from parsers.form_fields import FIELDS
from storage import Application, DecisionLetter, InboundMessage, Submission
from storage.clarifications import open_clarifications, overdue
from storage.models import Reply, utcnow
from storage.queries import current_values, in_round
from storage.queue_index import SEARCHED_FIELDS, QueueEntry, form_search_text, queue_index, search_text
from storage.staff import audit
from storage.states import MessageState
from web.application_record import ApplicationRecord, application_record, display_value
from web.exports import Cell, table_response
from web.pages import (
    REPLY_KINDS,
    REPLY_STATUS,
    STATUS_LABELS,
    Pages,
    RowId,
    db_of,
    redirect,
    render,
    round_of,
    settings_of,
    state_key,
)
from web.security import Staff, checked_staff, client_address, current_staff

router = APIRouter()
SORTS = ("reference", "municipality", "received", "status", "late", "problems", "last_reply")


@dataclass(frozen=True)
class QueueRow:
    """One application as the queue's page and its export show it."""

    application: Application
    record: ApplicationRecord
    status: str  # complete | needs_clarification | rejected
    last_reply: Reply | None

    @property
    def reference(self) -> str:
        return self.application.reference

    @property
    def problems(self) -> int:
        return len(self.record.problems)


PAGE_FIELDS = SEARCHED_FIELDS  # what the queue's page shows of the fields is what its search reads


def load_records(settings: Settings, session: Session, keys: frozenset[str] | None = None,
                 ids: Collection[int] | None = None, round_name: str | None = None, replies: bool = True
                 ) -> list[tuple[Application, ApplicationRecord]]:
    """Every application (or those of ``ids``) with its effective record; the fields come in one light query
    (only ``keys`` of them, except for corrected applications, whose problems are worked out again from all
    their fields). Of the replies only what the queue shows is loaded, never their texts (none without
    ``replies``)."""
    query = select(Application).options(
        selectinload(Application.current_submission).selectinload(Submission.problems),
        selectinload(Application.corrections))
    if replies:
        query = query.options(selectinload(Application.replies).load_only(Reply.kind, Reply.status, Reply.sent_at,
                                                                            Reply.created_at),
                              selectinload(Application.decision_letters).load_only(DecisionLetter.kind,
                                                                                   DecisionLetter.reply_id))
    if ids is not None:
        query = query.where(Application.id.in_(list(ids)))
    if round_name is not None:
        query = query.where(in_round(round_name, settings.call_rounds[0].name))
    applications = list(session.scalars(query.order_by(Application.received_at, Application.id)))
    values = current_values(session, applications, keys)
    if keys is not None:
        corrected = [a for a in applications if a.corrections]
        values.update(current_values(session, corrected))
    zone = settings.call.zone
    return [(a, application_record(a, zone, values[a.id], rows=False)) for a in applications]


def queue_rows(request: Request, session: Session, keys: frozenset[str] | None = None,
               ids: Collection[int] | None = None, round_name: str | None = None) -> list[QueueRow]:
    rows = []
    for application, record in load_records(settings_of(request), session, keys, ids, round_name):
        rows.append(QueueRow(application, record, application.queue_status,
                             application.replies[-1] if application.replies else None))
    return rows


def corrected_entries(request: Request, session: Session, entries: list[QueueEntry]) -> None:
    """Staff corrections change an application's problems and what its search finds: for the (few) corrected
    applications both are worked out from the effective record."""
    corrected = {e.id: e for e in entries if e.corrected}
    if not corrected:
        return
    for row in queue_rows(request, session, PAGE_FIELDS, corrected):
        entry = corrected[row.application.id]
        entry.problems = row.problems
        entry.haystack = search_text(entry.reference, entry.municipality, form_search_text(row.record.fields))


@router.get("/")
def home(request: Request, staff: Annotated[Staff, Depends(current_staff)]) -> Response:
    return redirect(request, "/til-behandling")  # the caseworker's start page


@router.get("/queue")
def queue(request: Request, staff: Annotated[Staff, Depends(current_staff)], status: str = "", late: str = "",
          q: str = "", sort: str = "received", dir: str = "asc", page: int = 1,
          round: str = "", overdue_only: Annotated[str, Query(alias="overdue")] = "", mine: str = "",
          reviewed: str = "") -> Response:
    sort = sort if sort in SORTS else "received"
    round_, rounds = round_of(request, round), settings_of(request).call_rounds
    with db_of(request).session() as session:
        entries = queue_index(session, search=bool(q.strip()), where=in_round(round_.name, rounds[0].name))
        corrected_entries(request, session, entries)
        counts = {key: sum(1 for e in entries if e.status == key) for key in STATUS_LABELS}
        late_count = sum(1 for e in entries if e.late)
        asked, now = open_clarifications(session, round_.name, rounds[0].name), utcnow()
        late_answers = {application_id for application_id, reply in asked.items() if overdue(reply, now)}
        shown = [e for e in entries if (not status or e.status == status)
                 and (late not in ("yes", "no") or e.late == (late == "yes")) and e.matches(q)
                 and (overdue_only != "yes" or e.id in late_answers)
                 and (mine != "yes" or e.assigned_to == staff.email)
                 and (reviewed not in ("yes", "no") or e.reviewed == (reviewed == "yes"))]
        shown.sort(key=lambda e: (e.sort_key(sort), e.reference), reverse=dir == "desc")
        pages = Pages.of(request, len(shown), page)
        ids = [e.id for e in pages.slice(shown)]
        loaded = {r.application.id: r for r in queue_rows(request, session, PAGE_FIELDS, ids)}
        return render(request, "queue.html", staff, rows=[loaded[i] for i in ids], matching=len(shown),
                      asked=asked, overdue_count=len(late_answers), overdue_only=overdue_only,
                      overdue=lambda reply: overdue(reply, now),
                      total=len(entries), counts=counts, late_count=late_count, status=status, late=late, q=q,
                      mine=mine, reviewed=reviewed, mine_count=sum(1 for e in entries if e.assigned_to == staff.email),
                      unreviewed_count=sum(1 for e in entries if not e.reviewed and e.status != "rejected"),
                      sort=sort, dir=dir, pages=pages, round=round_, rounds=rounds,
                      round_query=f"&round={quote(round_.name)}" if len(rounds) > 1 else "")


QUEUE_HEADER = ["Reference", "Kommune", "Status", "For sent", "Modtaget (dansk tid)", "Åbne problemer",
                "Problemer", "Seneste svar", "Gennemgået af", "Udvalgt", "Afvist (begrundelse)"]


def export_value(value: Any, kind: str = "") -> Cell:
    """Numbers, yes/no and dates stay typed (sortable in a spreadsheet); the rest as the page shows it."""
    if kind == "date" and isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return display_value(value)
    return value if isinstance(value, int | bool) else display_value(value)


def queue_table(request: Request, rows: list[QueueRow]) -> tuple[list[str], list[list[Cell]]]:
    zone = settings_of(request).call.zone
    header = QUEUE_HEADER + [spec.label for spec in FIELDS]
    table: list[list[Cell]] = []
    for r in rows:
        a, last = r.application, r.last_reply
        table.append([
            a.reference, a.municipality, STATUS_LABELS.get(r.status, r.status), a.late,
            a.received_at.astimezone(zone), r.problems,
            " | ".join(f"{p.label}: {problem_text(p)}" for p in r.record.problems),
            f"{REPLY_KINDS.get(last.kind, last.kind)} ({REPLY_STATUS.get(last.status, last.status)})" if last else "",
            a.reviewed_by, a.selected, a.rejected_reason,
            *[export_value(r.record.fields.get(spec.key), spec.kind) for spec in FIELDS],
        ])
    return header, table


MUNICIPALITY_HEADER = ["Reference", "Kommune", "Rolle", "Antal borgere i målgruppen", "Antal indbyggere",
                       "Har implementeret Åben Dialog før", "Status"]


def municipality_table(rows: list[QueueRow]) -> list[list[Cell]]:
    """One row per municipality of every application: the applicant, then each partner of a joint one."""
    table: list[list[Cell]] = []
    for r in rows:
        fields, status = r.record.fields, STATUS_LABELS.get(r.status, r.status)
        table.append([r.reference, r.application.municipality or fields.get("municipality"), "Ansøgende kommune",
                      export_value(fields.get("target_group_size")), export_value(fields.get("population")),
                      export_value(fields.get("already_implemented")), status])
        for partner in fields.get("partners") or []:
            if isinstance(partner, dict):
                table.append([r.reference, partner.get("municipality"), "Samarbejdskommune",
                              export_value(partner.get("target_group_size")), export_value(partner.get("population")),
                              export_value(partner.get("already_implemented")), status])
    return table


@router.get("/queue.{kind}")
def queue_export(request: Request, kind: str, staff: Annotated[Staff, Depends(current_staff)],
                 round: str = "") -> Response:
    if kind not in ("csv", "xlsx"):
        raise HTTPException(404, "Eksporten findes som .csv og .xlsx.")
    round_ = round_of(request, round)
    with db_of(request).session() as session:
        rows = queue_rows(request, session, round_name=round_.name)
        header, table = queue_table(request, rows)
        audit(session, staff.email, "export", detail={"file": f"ansoegninger.{kind}", "rows": len(table)},
              client=client_address(request))
    return table_response(kind, "ansoegninger", "Ansøgninger", header, table,
                          more=[("Kommuner", MUNICIPALITY_HEADER, municipality_table(rows))])


@router.get("/messages")
def messages(request: Request, staff: Annotated[Staff, Depends(current_staff)], outcome: str = "",
             page: int = 1) -> Response:
    """Every e-mail, newest first, a page at a time: the counts and the filter read three columns of every row;
    only the page's rows are loaded whole."""
    with db_of(request).session() as session:
        light = session.execute(select(InboundMessage.id, InboundMessage.state, InboundMessage.outcome)
                                .order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc())).all()
        states = [(row_id, state_key(state, result)) for row_id, state, result in light]
        counts = Counter(key for _, key in states)
        shown = [row_id for row_id, key in states if not outcome or key == outcome]
        pages = Pages.of(request, len(shown), page)
        ids = pages.slice(shown)
        loaded = {m.id: m for m in session.scalars(select(InboundMessage).where(InboundMessage.id.in_(ids)).options(
            selectinload(InboundMessage.replies), selectinload(InboundMessage.application),
            selectinload(InboundMessage.attachments), selectinload(InboundMessage.id_collisions)))}
        return render(request, "messages.html", staff, messages=[loaded[i] for i in ids], matching=len(shown),
                      total=len(light), counts=counts, outcome=outcome, pages=pages)


@router.post("/messages/{message_id}/retry")
def retry_message(request: Request, message_id: RowId, staff: Annotated[Staff, Depends(checked_staff)]) -> Response:
    """A message the worker gave up on (error state) is tried again at the next poll, e.g. after a fix."""
    with db_of(request).session() as session:
        message = session.get(InboundMessage, message_id)
        if message is None or message.state not in (MessageState.ERROR, MessageState.PARKED):
            raise HTTPException(404, "Der er ingen fejlet e-mail med dette nummer.")
        # a parked message is run again from the archive (it lies in the quarantine folder now)
        attempts, message.attempts, message.state = message.attempts, 0, MessageState.ERROR
        audit(session, staff.email, "retry_message", reference=message.application.reference
              if message.application else None, detail={"message": message.message_id, "error": message.error,
                                                         "attempts": attempts}, client=client_address(request))
        return redirect(request, "/messages", flash="retry")
