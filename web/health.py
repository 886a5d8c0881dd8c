"""/healthz: for the operator's monitoring; no session needed, nothing personal in it."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import JSONResponse, Response

from storage.models import utcnow
from storage.staff import messages_by_state, replies_by_status, service_status
from storage.states import MessageState, Outcome, ReplyStatus
from web.pages import db_of, settings_of
from web.security import NotSignedIn, current_staff

router = APIRouter()


@router.get("/healthz")
def healthz(request: Request) -> Response:
    """200 when the database answers; the body says when the worker last polled and what waits to be sent.

    ``poll_overdue`` is true when no poll succeeded within three poll intervals (or ever): the worker is down
    or cannot reach the mailbox. It is reported, not turned into a 503, so a web outage and a worker outage
    stay distinguishable.
    """
    try:
        with db_of(request).session() as session:
            session.execute(text("SELECT 1"))
            status = service_status(session)
            replies = replies_by_status(session)
            messages = messages_by_state(session)
    except SQLAlchemyError as error:
        return JSONResponse({"status": "error", "database": "unreachable", "error": type(error).__name__},
                            status_code=503)
    last = status.last_success_at if status else None
    overdue_after = timedelta(seconds=3 * settings_of(request).mailbox.poll_seconds)
    body = {
        "status": "ok",
        "database": "ok",
        "last_successful_poll": last.isoformat() if last else None,
        "poll_overdue": last is None or utcnow() - last > overdue_after,
        "last_poll_failed": bool(status and status.last_error),
        "messages_waiting": messages.get(MessageState.RECEIVED, 0),
        "messages_error": messages.get("error", 0),  # failed, to be tried again
        "messages_parked": messages.get(MessageState.PARKED, 0),  # given up on: in the quarantine folder
        "messages_quarantined": messages.get(Outcome.QUARANTINED, 0),  # beyond the limits, or parked
        "outbox_pending": replies.get(ReplyStatus.PENDING, 0),
        "outbox_held": replies.get(ReplyStatus.HELD, 0),
        "outbox_failed": replies.get(ReplyStatus.FAILED, 0),
    }
    if status and status.last_error and _signed_in(request):  # error text only for staff: it names hosts
        body["last_poll_error"] = status.last_error
    return JSONResponse(body)


def _signed_in(request: Request) -> bool:
    try:
        current_staff(request)
    except NotSignedIn:
        return False
    return True
