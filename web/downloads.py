"""The original email and every file, as downloads: always an attachment, always a safe name, never inline.

Files are served as application/octet-stream with ``Content-Disposition: attachment`` and ``nosniff``, so a
sender's HTML or SVG is never rendered in the staff's browser session. The name is the sender's, cleaned:
an ASCII fallback for old clients and the UTF-8 name (RFC 6266/5987) for the rest.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from starlette.responses import Response

from notifications.case_file import build_case_file, round_name
from parsers.display_text import safe_filename
from storage import Attachment, InboundMessage
from storage.archive import Kind
from storage.queries import get_application
from storage.staff import audit
from web.pages import RowId, archive_of, db_of, settings_of
from web.security import Staff, client_address, current_staff

router = APIRouter()


def ascii_filename(name: str) -> str:
    folded = name.replace("æ", "ae").replace("Æ", "Ae").replace("ø", "oe").replace("Ø", "Oe")
    folded = folded.replace("å", "aa").replace("Å", "Aa")
    folded = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9._-]+", "_", folded).strip("_.") or "fil"


def attachment_response(data: bytes, name: str) -> Response:
    name = safe_filename(name)
    disposition = f"attachment; filename=\"{ascii_filename(name)}\"; filename*=UTF-8''{quote(name, safe='')}"
    return Response(data, media_type="application/octet-stream",
                    headers={"Content-Disposition": disposition, "Content-Security-Policy": "sandbox"})


def _archived(request: Request, kind: Kind, sha256: str | None) -> bytes:
    if not sha256:
        raise HTTPException(404, "Filen findes ikke i arkivet.")
    try:
        return archive_of(request).get(kind, sha256)
    except (OSError, ValueError) as error:
        raise HTTPException(404, "Filen findes ikke i arkivet.") from error


@router.get("/messages/{message_id}/raw")
def raw_message(request: Request, message_id: RowId, staff: Annotated[Staff, Depends(current_staff)]) -> Response:
    with db_of(request).session() as session:
        message = session.get(InboundMessage, message_id)
        if message is None:
            raise HTTPException(404, "Beskeden findes ikke.")
        reference = message.application.reference if message.application else "besked"
        suffix = "-kun-brevhoved" if message.headers_only else ""
        data = _archived(request, "messages", message.raw_sha256)
        audit(session, staff.email, "download_message", reference=message.application.reference
              if message.application else None, detail={"message": message.message_id},
              client=client_address(request))
    return attachment_response(data, f"{reference}-{message.id}{suffix}.eml")


@router.get("/applications/{reference}/sagsmappe.zip")
def case_file(request: Request, reference: str, staff: Annotated[Staff, Depends(current_staff)]) -> Response:
    """The application's case file for the case system (summary.pdf, .eml in and out, form, annexes, metadata)."""
    settings = settings_of(request)
    with db_of(request).session() as session:
        application = get_application(session, reference)
        if application is None:
            raise HTTPException(404, "Ansøgningen findes ikke.")
        try:
            data = build_case_file(application, archive_of(request), settings.smtp.sender,
                                   round_name(settings, application), settings.call.zone)
        except (OSError, ValueError) as error:
            raise HTTPException(404, "En af sagens filer findes ikke i arkivet.") from error
        audit(session, staff.email, "download_case_file", reference=application.reference,
              detail={"bytes": len(data)}, client=client_address(request))
        name = f"{application.reference}-sagsmappe.zip"
    return attachment_response(data, name)


@router.get("/files/{attachment_id}")
def attachment(request: Request, attachment_id: RowId, staff: Annotated[Staff, Depends(current_staff)]) -> Response:
    with db_of(request).session() as session:
        row = session.get(Attachment, attachment_id)
        if row is None:
            raise HTTPException(404, "Filen findes ikke.")
        data = _archived(request, "files", row.sha256)
        name = row.filename
        audit(session, staff.email, "download_file", reference=row.application.reference if row.application else None,
              detail={"file": name}, client=client_address(request))
    return attachment_response(data, name)
