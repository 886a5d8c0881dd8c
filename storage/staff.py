"""Staff accounts, their sessions and failed sign-ins, the audit log, and the worker's last poll.

Storage only: passwords arrive hashed and tokens arrive as their SHA-256; the web layer does the crypto.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config.errors import UipIntakeError
from storage.models import (
    AuditEntry,
    InboundMessage,
    LoginFailure,
    Reply,
    ServiceStatus,
    StaffSession,
    StaffUser,
    utcnow,
)
from storage.states import Outcome, StaffRole


class StaffExists(UipIntakeError):
    """An account with this e-mail address already exists."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_staff(session: Session, email: str) -> StaffUser | None:
    return session.scalar(select(StaffUser).where(StaffUser.email == normalise_email(email)))


def add_staff(session: Session, email: str, password_hash: str, role: StaffRole = StaffRole.STAFF) -> StaffUser:
    if find_staff(session, email) is not None:
        raise StaffExists(email)
    user = StaffUser(email=normalise_email(email), password_hash=password_hash, disabled=False, role=role)
    session.add(user)
    session.flush()
    return user


def list_staff(session: Session) -> list[StaffUser]:
    return list(session.scalars(select(StaffUser).order_by(StaffUser.email)))


def audit(session: Session, actor: str, action: str, reference: str | None = None,
          detail: dict[str, Any] | None = None, client: str | None = None) -> AuditEntry:
    entry = AuditEntry(actor=actor, action=action, reference=reference, detail=detail or {},
                       client=(client or "")[:64] or None, at=utcnow())
    session.add(entry)
    return entry


def audit_log(session: Session, reference: str | None = None, limit: int = 500) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    if reference is not None:
        query = query.where(AuditEntry.reference == reference)
    return list(session.scalars(query))


def record_login_failure(session: Session, email: str, client: str) -> LoginFailure:
    row = LoginFailure(email=normalise_email(email)[:320], client=client[:64], at=utcnow())
    session.add(row)
    return row


def forget_login_failure(session: Session, failure_id: int) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.id == failure_id))


def login_failures(session: Session, email: str, client: str, since: datetime) -> tuple[int, int]:
    """Failed sign-ins since ``since``: (for this e-mail address, from this client address)."""
    recent = select(func.count(LoginFailure.id)).where(LoginFailure.at >= since)
    by_email = session.scalar(recent.where(LoginFailure.email == normalise_email(email))) or 0
    by_client = session.scalar(recent.where(LoginFailure.client == client)) or 0
    return by_email, by_client


def forget_login_failures(session: Session, email: str, older_than: datetime) -> None:
    """After a good sign-in, the address starts afresh; old failures of everyone are pruned."""
    session.execute(delete(LoginFailure).where(LoginFailure.email == normalise_email(email)))
    session.execute(delete(LoginFailure).where(LoginFailure.at < older_than))


def open_session(session: Session, user: StaffUser, token_sha256: str, csrf_token: str,
                 lifetime: timedelta) -> StaffSession:
    now = utcnow()
    row = StaffSession(token_sha256=token_sha256, staff_id=user.id, csrf_token=csrf_token, created_at=now,
                       last_seen_at=now, expires_at=now + lifetime)
    session.add(row)
    session.execute(delete(StaffSession).where(StaffSession.expires_at < now))
    return row


def find_session(session: Session, token_sha256: str) -> StaffSession | None:
    """The live session with this token, its user enabled; None when unknown, expired or disabled."""
    row = session.scalar(select(StaffSession).where(StaffSession.token_sha256 == token_sha256))
    if row is None or row.expires_at <= utcnow() or row.staff.disabled:
        return None
    return row


def close_session(session: Session, token_sha256: str) -> None:
    session.execute(delete(StaffSession).where(StaffSession.token_sha256 == token_sha256))


def close_sessions_of(session: Session, user: StaffUser) -> None:
    session.execute(delete(StaffSession).where(StaffSession.staff_id == user.id))


def record_poll(session: Session, error: str | None = None, name: str = "poll") -> None:
    """The worker finished a poll: successfully (``error`` None) or not."""
    row = session.get(ServiceStatus, name)
    if row is None:
        try:
            with session.begin_nested():  # two workers may write the first row at once
                row = ServiceStatus(name=name)
                session.add(row)
        except IntegrityError:
            row = session.get(ServiceStatus, name, populate_existing=True)
            assert row is not None
    now = utcnow()
    row.last_attempt_at = now
    row.runs_total = (row.runs_total or 0) + 1
    if error is None:
        row.last_success_at, row.last_error = now, None
    else:
        row.last_error = error[:2000]
        row.failures_total = (row.failures_total or 0) + 1
    session.add(row)


def service_status(session: Session, name: str = "poll") -> ServiceStatus | None:
    return session.get(ServiceStatus, name)


def replies_by_status(session: Session) -> dict[str, int]:
    rows = session.execute(select(Reply.status, func.count(Reply.id)).group_by(Reply.status))
    return {status: count for status, count in rows}


def messages_by_state(session: Session) -> dict[str, int]:
    """Inbound messages per state (received, processed, error, parked), and those quarantined."""
    counts = {state: count for state, count in session.execute(
        select(InboundMessage.state, func.count(InboundMessage.id)).group_by(InboundMessage.state))}
    counts["quarantined"] = session.scalar(select(func.count(InboundMessage.id))
                                           .where(InboundMessage.outcome == Outcome.QUARANTINED)) or 0
    return counts
