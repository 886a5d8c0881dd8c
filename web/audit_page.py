"""The audit log: every sign-in and every staff action, newest first; filtered by person, action and date."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from starlette.responses import Response

from storage.models import AuditEntry
from web.pages import ACTIONS, db_of, render, settings_of
from web.security import Staff, current_staff

router = APIRouter()


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@router.get("/audit")
def audit_page(request: Request, staff: Annotated[Staff, Depends(current_staff)], actor: str = "",
               action: str = "", since: str = "", until: str = "") -> Response:
    """The newest 1,000 entries that match: who (``actor``), what (``action``), from ``since`` to ``until``
    (days, Danish time, both included)."""
    zone = settings_of(request).call.zone
    first, last = _day(since), _day(until)
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(1000)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if action:
        query = query.where(AuditEntry.action == action)
    if first is not None:
        query = query.where(AuditEntry.at >= datetime.combine(first, time(), zone))
    if last is not None:
        query = query.where(AuditEntry.at < datetime.combine(last + timedelta(days=1), time(), zone))
    with db_of(request).session() as session:
        entries = list(session.scalars(query))
        actors = sorted(set(session.scalars(select(AuditEntry.actor).distinct())))
        actions = sorted(set(session.scalars(select(AuditEntry.action).distinct())), key=lambda a: ACTIONS.get(a, a))
        return render(request, "audit.html", staff, entries=entries, actors=actors, actions=actions,
                      actor=actor, action=action, since=first.isoformat() if first else "",
                      until=last.isoformat() if last else "")
