"""Staff's clarification requests: asked (previewed first, through the outbox), withdrawn when no answer is
awaited any more, and a reminder when the answer-by date has passed. A request is refused when there is
nothing to ask: no open problem and no text of staff's own."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from notifications.form_reply import form_reply_context
from notifications.locale import date_text, time_text
from notifications.reply_queue import queue_reply, render_for
from storage import Application, InboundMessage
from storage.clarifications import open_clarification, overdue, withdraw
from storage.decision_rule import RoundChange
from storage.models import Reply
from storage.staff import audit
from web.application_page import find_application, page, ruling
from web.application_record import application_record
from web.pages import db_of, redirect, settings_of
from web.security import Staff, checked_staff, client_address

router = APIRouter()
Checked = Annotated[Staff, Depends(checked_staff)]


def _answerable_message(application: Application) -> InboundMessage | None:
    """The newest message of the application that we can answer (it has a reply address)."""
    for message in sorted(application.messages, key=lambda m: (m.received_at, m.id), reverse=True):
        if message.reply_address:
            return message
    return None


def _context(request: Request, application: Application, row: InboundMessage, text: str) -> dict[str, Any]:
    """The request's template context: the current form's problems and files, and the receipt time of the
    message that brought that form (not of a duplicate or a later email)."""
    settings = settings_of(request)
    record = application_record(application, settings.call.zone)
    submission = application.current_submission
    form_name = next((a.filename for a in application.attachments
                      if submission is not None and a.id == submission.attachment_id), "")
    files = [a for a in application.attachments if submission is not None and a.message_id == submission.message_id]
    context = form_reply_context(application, record.fields, record.problems, form_name, files, submission,
                                 greeting=row.sender_name or application.municipality or "")
    brought = next((m for m in application.messages if submission is not None and m.id == submission.message_id),
                   None)
    received = brought.received_at if brought is not None else application.received_at
    return {**context, "staff_text": text.strip(),
            "received_local": time_text(received, settings.call.language, settings.call.zone)}


def _ask(request: Request, staff: Staff, session: Session, application: Application, template: str,
         text: str, action: str, extra: dict[str, Any], flash: str, audited: str) -> Response:
    settings = settings_of(request)
    row = _answerable_message(application)
    if row is None:
        return page(request, staff, session, application, status_code=422,
                    clarification_error="Ingen af ansøgningens e-mails har en adresse, vi kan svare til.")
    context = {**_context(request, application, row, text), **extra}
    if not context["problems"] and not text.strip():
        return page(request, staff, session, application, status_code=422, clarification_text=text,
                    clarification_error="Der er intet at afklare: ansøgningen har ingen åbne forhold. Skriv selv, "
                                        "hvad I vil spørge om.")
    if action != "send":
        preview, _answer_by = render_for(row, settings, template, context, application)
        return page(request, staff, session, application, preview=preview, preview_to=row.reply_address,
                    clarification_text=text, preview_of=template)
    ruled = ruling(request, session, application, RoundChange.CLARIFY)
    reply = queue_reply(row, settings, template, context, application,
                        prior_references=" ".join(r.message_id_header for r in application.replies))
    assert reply is not None
    session.flush()
    audit(session, staff.email, audited, reference=application.reference,
          detail={"to": reply.to_addr, "text": text.strip()[:2000], "reply": reply.message_id_header,
                  "status": reply.status, **ruled.audit_detail}, client=client_address(request))
    return redirect(request, f"/applications/{application.reference}", flash=flash, anchor="conversation")


@router.post("/applications/{reference}/clarification")
def send_clarification(request: Request, reference: str, staff: Checked, text: Annotated[str, Form()] = "",
                       action: Annotated[str, Form()] = "preview") -> Response:
    with db_of(request).session() as session:
        application = find_application(session, reference)
        return _ask(request, staff, session, application, "clarification", text, action, {}, "clarification",
                    "send_clarification")


@router.post("/applications/{reference}/clarification/remind")
def send_reminder(request: Request, reference: str, staff: Checked, text: Annotated[str, Form()] = "",
                  action: Annotated[str, Form()] = "preview") -> Response:
    """A reminder of an overdue request: what is still missing, and a new answer-by date."""
    settings = settings_of(request)
    with db_of(request).session() as session:
        application = find_application(session, reference)
        asked = open_clarification(application)
        if asked is None or not overdue(asked):
            return redirect(request, f"/applications/{application.reference}", flash="no_overdue_clarification")
        language, zone = settings.call.language, settings.call.zone
        extra = {"asked_local": date_text(asked.created_at.astimezone(zone).date(), language),
                 "asked_by_local": date_text(asked.answer_by.astimezone(zone).date(), language)
                 if asked.answer_by else date_text(None, language)}
        return _ask(request, staff, session, application, "clarification_reminder", text, action, extra,
                    "reminder", "send_reminder")


@router.post("/applications/{reference}/clarification/withdraw")
def withdraw_clarification(request: Request, reference: str, staff: Checked,
                           reason: Annotated[str, Form()] = "") -> Response:
    """Staff no longer wait for the answer (it came by phone, or the decision is to be made without it)."""
    with db_of(request).session() as session:
        application = find_application(session, reference)
        asked: Reply | None = open_clarification(application)
        if asked is None:
            return redirect(request, f"/applications/{application.reference}", flash="no_open_clarification")
        ruled = ruling(request, session, application, RoundChange.WITHDRAW_CLARIFICATION)
        withdraw(asked, staff.email)
        audit(session, staff.email, "withdraw_clarification", reference=application.reference,
              detail={"reply": asked.message_id_header, "reason": reason.strip()[:2000], **ruled.audit_detail},
              client=client_address(request))
        return redirect(request, f"/applications/{application.reference}", flash="clarification_withdrawn",
                        anchor="conversation")
