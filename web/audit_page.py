"""The audit log: every sign-in and every staff action, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from storage.staff import audit_log
from web.pages import db_of, render
from web.security import Staff, current_staff

router = APIRouter()


@router.get("/audit")
def audit_page(request: Request, staff: Annotated[Staff, Depends(current_staff)]) -> Response:
    with db_of(request).session() as session:
        entries = audit_log(session, limit=1000)
        return render(request, "audit.html", staff, entries=entries)
