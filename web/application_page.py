"""One application: fields with their sources, problems, conversation, files; and what staff do to it.

Every action is a POST with the session's CSRF token, changes the database in one transaction, and writes
an audit entry (who, what, when) in that same transaction.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from starlette.responses import Response

from notifications.locale import ground_text, value_problem_text
from parsers.form_fields import FIELDS_BY_KEY
from parsers.municipalities import find_municipality
from parsers.values import ValueProblem
from storage import Application, InboundMessage
from storage.attention import needs_person
from storage.clarifications import open_clarification, overdue
from storage.decision_rule import RoundChange, Ruling, rule
from storage.models import FieldCorrection, Reply, StaffNote, utcnow
from storage.queries import claim_edit, conversation, get_application
from storage.reasons import GroundCode
from storage.staff import audit, audit_log
from storage.states import ApplicationStatus, ReplyStatus
from web.application_record import (
    ApplicationRecord,
    application_record,
    display_value,
    editable_text,
    form_value,
    parse_correction,
)
from web.message_page import assignee, colleagues, text_of
from web.pages import RowId, db_of, redirect, render, settings_of
from web.security import Staff, checked_staff, client_address, current_staff

router = APIRouter()
Checked = Annotated[Staff, Depends(checked_staff)]


def find_application(session: Session, reference: str) -> Application:
    application = get_application(session, reference)
    if application is None:
        raise HTTPException(404, f"Der er ingen ansøgning med referencen {reference}.")
    return application


def ruling(request: Request, session: Session, application: Application, change: RoundChange) -> Ruling:
    """What the round's open decision, if any, allows of ``change`` (``storage.decision_rule``)."""
    return rule(session, application.round or settings_of(request).call_rounds[0].name, change)


def page(request: Request, staff: Staff, session: Session, application: Application, status_code: int = 200,
         **extra: Any) -> Response:
    settings = settings_of(request)
    record = application_record(application, settings.call.zone)
    events = conversation(application)
    asked = open_clarification(application)
    waiting = set(session.scalars(select(InboundMessage.id).where(
        InboundMessage.application_id == application.id, needs_person())))
    return render(request, "application.html", staff, status_code=status_code, a=application, record=record,
                  texts={m.id: text_of(request, m) for m in application.messages}, waiting_ids=waiting,
                  colleagues=colleagues(session),
                  events=events, messages={m.id: m for m in application.messages},
                  replies={r.id: r for r in application.replies}, editable=editable_text,
                  audit=audit_log(session, application.reference, limit=100), open_clarification=asked,
                  clarification_overdue=overdue(asked), late_policy=settings.call.late_policy, **extra)


@router.get("/applications/{reference}")
def application_page(request: Request, reference: str, staff: Annotated[Staff, Depends(current_staff)]) -> Response:
    with db_of(request).session() as session:
        return page(request, staff, session, find_application(session, reference))


def _refresh_status(application: Application, record: ApplicationRecord) -> str | None:
    """The application's stored status after a correction; returns the new status when it changed."""
    status = ApplicationStatus.COMPLETE if record.complete else ApplicationStatus.NEEDS_CLARIFICATION
    if status == application.status:
        return None
    application.status = status
    return status


@router.post("/applications/{reference}/corrections")
def correct_field(request: Request, reference: str, staff: Checked, key: Annotated[str, Form()],
                  value: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "",
                  edit_version: Annotated[int | None, Form()] = None) -> Response:
    """Correct one field. The form carries the application's ``edit_version`` as the page showed it: when
    someone else changed the application since (another correction, a new version from the municipality),
    the correction is refused with the value it would have overwritten, never applied silently."""
    spec = FIELDS_BY_KEY.get(key)
    if spec is None:
        raise HTTPException(400, f"Ukendt felt: {key}")
    with db_of(request).session() as session:
        application = find_application(session, reference)
        if ruling(request, session, application, RoundChange.CORRECT).refused:
            return redirect(request, f"/applications/{application.reference}", flash="decision_locked",
                            anchor=f"f-{key}")
        try:
            new_value = parse_correction(spec, value)
        except ValueProblem as problem:
            return page(request, staff, session, application, status_code=422,
                         correction_error=(key, value_problem_text(problem.as_dict())),
                         correction_text=(key, value))
        zone = settings_of(request).call.zone
        if not claim_edit(session, application, edit_version):
            current = application_record(application, zone)
            row = next((r for r in current.rows if r.spec.key == key), None)
            who = f" (rettet af {row.correction.author})" if row and row.correction else ""
            return page(request, staff, session, application, status_code=409, correction_text=(key, value),
                         correction_error=(key, "En anden har ændret ansøgningen, mens du rettede. "
                                                f"Feltet er nu: {display_value(current.fields.get(key)) or '(tomt)'}"
                                                f"{who}. Din rettelse er ikke gemt; ret igen ud fra den nye værdi."))
        original = form_value(application, key)  # what the form said, whatever staff corrected before
        application.corrections.append(FieldCorrection(key=key, original=original, value=new_value, raw=value[:10000],
                                                       reason=reason.strip()[:2000], author=staff.email))
        if key == "municipality":
            found = find_municipality(new_value) if new_value else None
            application.municipality = found.official_name if found else None
            application.municipality_code = found.code if found else None
        session.flush()
        changed = _refresh_status(application, application_record(application, zone))
        audit(session, staff.email, "correct_field", reference=application.reference,
              detail={"field": key, "original": original, "value": new_value, "reason": reason.strip(),
                      **({"status": changed} if changed else {})}, client=client_address(request))
        return redirect(request, f"/applications/{application.reference}", flash="corrected", anchor=f"f-{key}")


@router.post("/applications/{reference}/notes")
def add_note(request: Request, reference: str, staff: Checked, text: Annotated[str, Form()] = "") -> Response:
    with db_of(request).session() as session:
        application = find_application(session, reference)
        if not text.strip():
            return page(request, staff, session, application, status_code=422, note_error="Noten er tom.")
        ruled = ruling(request, session, application, RoundChange.NOTE)
        application.notes.append(StaffNote(author=staff.email, text=text.strip()[:10000]))
        audit(session, staff.email, "add_note", reference=application.reference,
              detail={"text": text.strip()[:500], **ruled.audit_detail}, client=client_address(request))
        return redirect(request, f"/applications/{application.reference}", flash="note", anchor="notes")


@router.post("/applications/{reference}/review")
def mark_reviewed(request: Request, reference: str, staff: Checked,
                  reviewed: Annotated[str, Form()] = "yes") -> Response:
    with db_of(request).session() as session:
        application = find_application(session, reference)
        done = reviewed == "yes"
        ruled = ruling(request, session, application, RoundChange.REVIEW)
        application.reviewed_at = utcnow() if done else None
        application.reviewed_by = staff.email if done else None
        audit(session, staff.email, "mark_reviewed" if done else "unmark_reviewed", reference=application.reference,
              detail=ruled.audit_detail or None, client=client_address(request))
        return redirect(request, f"/applications/{application.reference}", flash="reviewed" if done else "unreviewed")


@router.post("/applications/{reference}/reject")
def reject(request: Request, reference: str, staff: Checked, reason: Annotated[str, Form()] = "",
           ground: Annotated[str, Form()] = "", action: Annotated[str, Form()] = "preview",
           undo: Annotated[str, Form()] = "") -> Response:
    """Staff reject an application with two texts: ``reason``, the internal note (colleagues, the log), and
    ``ground``, what the municipality's decision letter gives as the ground, previewed as the letter says it."""
    with db_of(request).session() as session:
        application = find_application(session, reference)
        if ruling(request, session, application, RoundChange.REOPEN if undo else RoundChange.REJECT).refused:
            return redirect(request, f"/applications/{application.reference}", flash="decision_locked")
        if undo:
            application.rejected_reason = application.rejected_ground = None
            audit(session, staff.email, "reopen", reference=application.reference, client=client_address(request))
            return redirect(request, f"/applications/{application.reference}", flash="reopened")
        if not reason.strip() or not ground.strip():
            return page(request, staff, session, application, status_code=422, reject_note=reason, reject_ground=ground,
                        reject_error="Skriv både den interne note og begrundelsen til kommunen.")
        language = settings_of(request).call.language
        if action != "reject":
            return page(request, staff, session, application, reject_note=reason, reject_ground=ground,
                        reject_preview=ground_text({"code": GroundCode.REJECTED, "ground": ground.strip()}, language))
        application.rejected_reason, application.rejected_ground = reason.strip()[:2000], ground.strip()[:2000]
        application.selected, application.selected_at, application.selected_by = False, None, None
        audit(session, staff.email, "reject", reference=application.reference,
              detail={"reason": reason.strip(), "ground": ground.strip()}, client=client_address(request))
        return redirect(request, f"/applications/{application.reference}", flash="rejected")


@router.post("/applications/{reference}/admit-late")
def admit_late(request: Request, reference: str, staff: Checked, reason: Annotated[str, Form()] = "",
               undo: Annotated[str, Form()] = "") -> Response:
    """Under ``call.late_policy = "exclude"``, a late application is ranked only when staff admit it, with a
    reason the ranking, the snapshot and its letter give."""
    with db_of(request).session() as session:
        application = find_application(session, reference)
        if ruling(request, session, application, RoundChange.ADMIT_LATE).refused:
            return redirect(request, f"/applications/{application.reference}", flash="decision_locked")
        if not application.late:
            return redirect(request, f"/applications/{application.reference}", flash="not_late")
        if undo:
            application.late_admitted_reason = application.late_admitted_by = None
            audit(session, staff.email, "unadmit_late", reference=application.reference,
                  client=client_address(request))
            return redirect(request, f"/applications/{application.reference}", flash="late_unadmitted")
        if not reason.strip():
            return page(request, staff, session, application, status_code=422,
                        admit_error="Skriv begrundelsen; den står i kommunens afgørelsesbrev.")
        application.late_admitted_reason, application.late_admitted_by = reason.strip()[:2000], staff.email
        audit(session, staff.email, "admit_late", reference=application.reference, detail={"reason": reason.strip()},
              client=client_address(request))
        return redirect(request, f"/applications/{application.reference}", flash="late_admitted")


@router.post("/replies/{reply_id}/release")
def release_reply(request: Request, reply_id: RowId, staff: Checked) -> Response:
    """A reply held by the rate limit goes out after all, because a person decided so."""
    with db_of(request).session() as session:
        reply = session.get(Reply, reply_id)
        if reply is None or reply.status != ReplyStatus.HELD:
            raise HTTPException(404, "Der er intet tilbageholdt svar med dette nummer.")
        reply.status, reply.next_attempt_at, reply.last_error = ReplyStatus.PENDING, utcnow(), None
        reference = reply.application.reference if reply.application else None
        audit(session, staff.email, "release_reply", reference=reference,
              detail={"reply": reply.message_id_header, "to": reply.to_addr}, client=client_address(request))
        return redirect(request, f"/applications/{reference}" if reference else "/messages", flash="released")


@router.post("/applications/{reference}/assign")
def assign(request: Request, reference: str, staff: Checked, to: Annotated[str, Form()] = "") -> Response:
    with db_of(request).session() as session:
        application, given = find_application(session, reference), assignee(session, to)
        # who works on it is no change to the application: its revision (what an open decision compares with
        # its snapshot, and the ranking cache with its own) stays as it is
        session.execute(update(Application).where(Application.id == application.id)
                        .values(assigned_to=given, revision=Application.revision)
                        .execution_options(synchronize_session=False))
        audit(session, staff.email, "assign", reference=application.reference,
              detail={"assigned_to": given or "ingen"}, client=client_address(request))
        return redirect(request, f"/applications/{application.reference}", flash="assigned")
