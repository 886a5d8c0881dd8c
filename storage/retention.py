"""Retention (GDPR): personal data past the retention period is deleted; an anonymised record stays.

For every email received before the cut-off: the raw message and its files are deleted from the archive, and
the sender, the subject, the file names and our replies' addresses and texts are blanked. For every application
received before it: the values read from the forms, the problems (which quote them), staff corrections and
notes are deleted, and the audit entries about it lose their details. What stays is the anonymised record the
Board's statistics need: the reference, the municipality (a public body), when it arrived, its status, late,
selected, and how many versions and emails it had. One audit line says what was purged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, delete, select, update
from sqlalchemy.orm import Session

from storage.archive import Archive, Kind
from storage.database import Database
from storage.models import (
    Application,
    Attachment,
    AuditEntry,
    FieldCorrection,
    FieldValueRow,
    InboundMessage,
    ProblemRow,
    Reply,
    StaffNote,
    Submission,
    utcnow,
)
from storage.staff import audit


@dataclass
class PurgeReport:
    cutoff: datetime
    messages: int = 0
    applications: int = 0
    files: int = 0  # archive files deleted (nothing else refers to them)
    bytes: int = 0
    dry_run: bool = True


def _message_ids(session: Session, cutoff: datetime) -> list[int]:
    return list(session.scalars(select(InboundMessage.id).where(InboundMessage.received_at < cutoff,
                                                                 InboundMessage.purged_at.is_(None))))


def _application_ids(session: Session, cutoff: datetime) -> list[int]:
    return list(session.scalars(select(Application.id).where(Application.received_at < cutoff,
                                                             Application.purged_at.is_(None))))


def purge(db: Database, archive: Archive, cutoff: datetime, dry_run: bool = True, actor: str = "cli",
          days: int | None = None) -> PurgeReport:
    report = PurgeReport(cutoff, dry_run=dry_run)
    with db.session() as session:
        messages = _message_ids(session, cutoff)
        applications = _application_ids(session, cutoff)
        report.messages, report.applications = len(messages), len(applications)
        files = _files_of(session, messages)
        if dry_run:
            report.files = len(files)
            report.bytes = sum(_size(archive, kind, sha) for kind, sha in files)
            session.rollback()
            return report
        _blank_messages(session, messages)
        _blank_applications(session, applications)
        session.flush()
        still_used = _files_in_use(session)
        for kind, sha in files - still_used:
            size = _size(archive, kind, sha)
            if archive.delete(kind, sha):
                report.files += 1
                report.bytes += size
        audit(session, actor, "purge", detail={"older_than_days": days, "cutoff": cutoff.isoformat(),
                                               "messages": report.messages, "applications": report.applications,
                                               "files": report.files})
    return report


def _files_of(session: Session, messages: list[int]) -> set[tuple[Kind, str]]:
    if not messages:
        return set()
    raw = session.scalars(select(InboundMessage.raw_sha256).where(InboundMessage.id.in_(messages)))
    files = session.scalars(select(Attachment.sha256).where(Attachment.message_id.in_(messages)))
    return {("messages", s) for s in raw if s} | {("files", s) for s in files if s}


def _files_in_use(session: Session) -> set[tuple[Kind, str]]:
    raw = session.scalars(select(InboundMessage.raw_sha256).where(InboundMessage.raw_sha256.is_not(None)))
    files = session.scalars(select(Attachment.sha256).where(Attachment.sha256 != ""))
    return {("messages", s) for s in raw if s} | {("files", s) for s in files}


def _size(archive: Archive, kind: Kind, sha256: str) -> int:
    try:
        return archive.path(kind, sha256).stat().st_size
    except (OSError, ValueError):
        return 0


def _blank_messages(session: Session, ids: list[int]) -> None:
    if not ids:
        return
    now = utcnow()
    session.execute(update(InboundMessage).where(InboundMessage.id.in_(ids)).values(
        sender="", sender_name="", reply_address=None, subject="", message_id=None, raw_sha256=None,
        error=None, reason_params={}, purged_at=now).execution_options(synchronize_session=False))
    session.execute(update(Attachment).where(Attachment.message_id.in_(ids)).values(
        filename="(slettet)", sha256="", refusal=None).execution_options(synchronize_session=False))
    session.execute(update(Reply).where(Reply.inbound_message_id.in_(ids)).values(
        to_addr="", subject="", body="", last_error=None).execution_options(synchronize_session=False))


def _blank_applications(session: Session, ids: list[int]) -> None:
    if not ids:
        return
    submissions = select(Submission.id).where(Submission.application_id.in_(ids))
    session.execute(delete(FieldValueRow).where(FieldValueRow.submission_id.in_(submissions)))
    session.execute(delete(ProblemRow).where(ProblemRow.submission_id.in_(submissions)))
    session.execute(update(Submission).where(Submission.application_id.in_(ids)).values(sender=None, search_text=None)
                    .execution_options(synchronize_session=False))
    session.execute(delete(FieldCorrection).where(FieldCorrection.application_id.in_(ids)))
    session.execute(delete(StaffNote).where(StaffNote.application_id.in_(ids)))
    references = list(session.scalars(select(Application.reference).where(Application.id.in_(ids))))
    session.execute(update(AuditEntry).where(AuditEntry.reference.in_(references)).values(detail={})
                    .execution_options(synchronize_session=False))
    kept_rejection = case((Application.rejected_reason.is_(None), None), else_="(slettet efter opbevaringsperioden)")
    session.execute(update(Application).where(Application.id.in_(ids)).values(
        rejected_reason=kept_rejection, purged_at=utcnow()).execution_options(synchronize_session=False))
