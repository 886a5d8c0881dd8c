"""One inbound email, readable in the browser, and what a caseworker does with it: answer it (a free-text reply,
previewed, threaded under the email, queued in the outbox), forward it to the call's questions address, link
it to the application it concerns, mark it handled with a note, put it back on the list, or give it to a
colleague. Every action is one transaction with its audit entry."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from starlette.responses import Response

from notifications.staff_reply import MAX_TEXT, queue_forward, queue_staff_reply, render_staff_reply
from parsers.mail_text import MailText, TextSource, mail_text
from storage import InboundMessage
from storage.attention import mark_handled, reopen
from storage.models import StaffUser
from storage.queries import get_application
from storage.staff import audit, normalise_email
from storage.states import Handled
from web.pages import RowId, archive_of, db_of, redirect, render, settings_of
from web.security import Staff, checked_staff, client_address, current_staff

router = APIRouter()
Checked = Annotated[Staff, Depends(checked_staff)]


def text_of(request: Request, message: InboundMessage) -> MailText:
    """The email's text from its stored original; none when it is not archived (headers only, deleted)."""
    if not message.raw_sha256 or message.purged_at is not None:
        return MailText("", TextSource.NONE)
    try:
        return mail_text(archive_of(request).get("messages", message.raw_sha256))
    except (OSError, ValueError):
        return MailText("", TextSource.NONE)


def find_message(session: Session, message_id: int) -> InboundMessage:
    message = session.scalars(select(InboundMessage).where(InboundMessage.id == message_id).options(
        selectinload(InboundMessage.attachments), selectinload(InboundMessage.replies),
        selectinload(InboundMessage.application))).first()
    if message is None:
        raise HTTPException(404, "Der er ingen e-mail med dette nummer.")
    return message


def colleagues(session: Session) -> list[str]:
    """Who an email or application may be given to: every staff member who may sign in."""
    return list(session.scalars(select(StaffUser.email).where(StaffUser.disabled.is_(False))
                                .order_by(StaffUser.email)))


def page(request: Request, staff: Staff, session: Session, message: InboundMessage, status_code: int = 200,
         **extra: Any) -> Response:
    return render(request, "message.html", staff, status_code=status_code, m=message, text=text_of(request, message),
                  colleagues=colleagues(session), questions_address=settings_of(request).call.questions_address,
                  **extra)


@router.get("/messages/{message_id}")
def message_page(request: Request, message_id: RowId, staff: Annotated[Staff, Depends(current_staff)]) -> Response:
    with db_of(request).session() as session:
        return page(request, staff, session, find_message(session, message_id))


def _reference(message: InboundMessage) -> str | None:
    return message.application.reference if message.application is not None else None


@router.post("/messages/{message_id}/reply")
def reply(request: Request, message_id: RowId, staff: Checked, text: Annotated[str, Form()] = "",
          action: Annotated[str, Form()] = "preview", again: Annotated[str, Form()] = "") -> Response:
    settings = settings_of(request)
    with db_of(request).session() as session:
        message = find_message(session, message_id)
        written = text.replace("\r\n", "\n").strip()
        error = None
        if not message.reply_address:
            error = "E-mailen har ingen adresse, der kan svares til."
        elif not written:
            error = "Skriv svaret, før det kan vises eller sendes."
        elif len(written) > MAX_TEXT:
            error = f"Svaret er for langt (højst {MAX_TEXT:,} tegn).".replace(",", ".")
        quote = text_of(request, message).text
        if error or action != "send":
            preview = None if error else render_staff_reply(message, settings, staff.email, written, quote)
            return page(request, staff, session, message, status_code=422 if error else 200, reply_error=error,
                        reply_text=text, reply_preview=preview)
        first = mark_handled(session, message, staff.email, Handled.ANSWERED)
        if not first and again != "yes":  # someone answered it meanwhile: shown, not answered twice
            return page(request, staff, session, message, status_code=409, reply_text=text,
                        reply_error=f"{message.handled_by} har allerede behandlet e-mailen. Læs det, der er sket, "
                                    "og send dit svar igen, hvis det stadig skal af sted.")
        queued = queue_staff_reply(message, settings, staff.email, written, quote)
        audit(session, staff.email, "reply_message", reference=_reference(message),
              detail={"message": message.id, "to": queued.to_addr if queued else "", "text": written[:500]},
              client=client_address(request))
        return redirect(request, f"/messages/{message.id}", flash="staff_reply", anchor="replies")


@router.post("/messages/{message_id}/forward")
def forward(request: Request, message_id: RowId, staff: Checked, note: Annotated[str, Form()] = "") -> Response:
    settings = settings_of(request)
    with db_of(request).session() as session:
        message = find_message(session, message_id)
        reply = queue_forward(message, settings, staff.email, note, text_of(request, message).text)
        mark_handled(session, message, staff.email, Handled.FORWARDED, note.strip() or None)
        audit(session, staff.email, "forward_message", reference=_reference(message),
              detail={"message": message.id, "to": reply.to_addr, **({"note": note.strip()} if note.strip() else {})},
              client=client_address(request))
        return redirect(request, f"/messages/{message.id}", flash="forwarded", anchor="replies")


@router.post("/messages/{message_id}/link")
def link(request: Request, message_id: RowId, staff: Checked, reference: Annotated[str, Form()] = "") -> Response:
    with db_of(request).session() as session:
        message = find_message(session, message_id)
        application = get_application(session, reference.strip().upper())
        if application is None:
            return page(request, staff, session, message, status_code=422, link_text=reference,
                        link_error=f"Der er ingen ansøgning med referencen »{reference.strip()}«.")
        message.application_id = application.id
        session.flush()
        session.refresh(message, ["application"])
        mark_handled(session, message, staff.email, Handled.LINKED)
        audit(session, staff.email, "link_message", reference=application.reference,
              detail={"message": message.id}, client=client_address(request))
        return redirect(request, f"/messages/{message.id}", flash="linked")


@router.post("/messages/{message_id}/handled")
def handled(request: Request, message_id: RowId, staff: Checked, note: Annotated[str, Form()] = "",
            undo: Annotated[str, Form()] = "") -> Response:
    with db_of(request).session() as session:
        message = find_message(session, message_id)
        if undo:
            reopen(session, message)
            audit(session, staff.email, "reopen_message", reference=_reference(message),
                  detail={"message": message.id}, client=client_address(request))
            return redirect(request, f"/messages/{message.id}", flash="reopened_message")
        if not note.strip():
            return page(request, staff, session, message, status_code=422,
                        handled_error="Skriv kort, hvad der er gjort (fx »besvaret i telefonen«).")
        if not mark_handled(session, message, staff.email, Handled.NOTED, note.strip()):
            return page(request, staff, session, message, status_code=409,
                        handled_error=f"{message.handled_by} har allerede behandlet e-mailen.")
        audit(session, staff.email, "handle_message", reference=_reference(message),
              detail={"message": message.id, "note": note.strip()}, client=client_address(request))
        return redirect(request, "/til-behandling", flash="handled")


def assignee(session: Session, to: str) -> str | None:
    """The colleague named by the form (None: nobody), or 404 for someone who may not sign in."""
    wanted = normalise_email(to) if to.strip() else ""
    if not wanted:
        return None
    if wanted not in colleagues(session):
        raise HTTPException(422, "Den valgte medarbejder findes ikke eller er spærret.")
    return wanted


@router.post("/messages/{message_id}/assign")
def assign(request: Request, message_id: RowId, staff: Checked, to: Annotated[str, Form()] = "") -> Response:
    with db_of(request).session() as session:
        message = find_message(session, message_id)
        message.assigned_to = assignee(session, to)
        audit(session, staff.email, "assign", reference=_reference(message),
              detail={"message": message.id, "assigned_to": message.assigned_to or "ingen"},
              client=client_address(request))
        return redirect(request, f"/messages/{message.id}", flash="assigned")
