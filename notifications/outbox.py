"""Send the replies storage holds as pending: retries with backoff, failures shown to staff."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from config.faults import fault_point
from notifications.compose import build_email
from notifications.transport import Transport, TransportError
from storage.database import Database
from storage.models import Reply, utcnow
from storage.states import ReplyStatus

log = logging.getLogger(__name__)
BACKOFF = timedelta(minutes=1)
MAX_BACKOFF = timedelta(hours=2)


@dataclass
class OutboxReport:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    copies: list[bytes] = field(default_factory=list)  # what the relay took, when asked to keep copies

    def add(self, other: OutboxReport) -> None:
        self.sent += other.sent
        self.deferred += other.deferred
        self.failed += other.failed
        self.copies += other.copies


def send_pending(db: Database, transport: Transport, sender: str, max_attempts: int,
                 now: datetime | None = None, keep_copies: bool = False) -> OutboxReport:
    """Send every pending reply that is due. Each reply is claimed (a row lock that another worker skips,
    on PostgreSQL), sent, and committed on its own; with ``keep_copies`` the report holds each sent message's
    bytes (for a Sent folder). A crash between the server's 250 and the commit sends that one reply again: at
    most one duplicate per crash, never a lost reply. The transport's connection stays open for the caller's
    next run; the caller closes it."""
    report = OutboxReport()
    now = now or utcnow()
    with db.session() as session:
        due = list(session.scalars(select(Reply.id)
                                   .where(Reply.status == ReplyStatus.PENDING, Reply.next_attempt_at <= now)
                                   .order_by(Reply.id)))
    for reply_id in due:
        _send_one(db, transport, sender, max_attempts, now, reply_id, report, keep_copies)
    return report


def _send_one(db: Database, transport: Transport, sender: str, max_attempts: int, now: datetime, reply_id: int,
              report: OutboxReport, keep_copies: bool) -> None:
    """Claim, send and commit one reply."""
    with db.session() as session:
        reply = session.scalar(select(Reply).where(Reply.id == reply_id, Reply.status == ReplyStatus.PENDING)
                               .with_for_update(skip_locked=True))
        if reply is None:  # sent meanwhile, or being sent by another worker right now
            return
        email_message = build_email(reply, sender)
        try:
            sent = transport.send(email_message)
        except TransportError as error:
            reply.attempts += 1
            reply.last_error = str(error)[:2000]
            if error.permanent or reply.attempts >= max_attempts:
                reply.status = ReplyStatus.FAILED
                report.failed += 1
                log.error("reply #%s failed for good: %s", reply.id, error)
            else:
                reply.next_attempt_at = now + min(BACKOFF * 2 ** (reply.attempts - 1), MAX_BACKOFF)
                report.deferred += 1
                log.warning("reply #%s deferred (attempt %d): %s", reply.id, reply.attempts, error)
            return
        fault_point("kill-after-smtp")
        reply.status = ReplyStatus.SENT
        reply.attempts += 1
        reply.sent_at = utcnow()
        reply.last_error = None
        report.sent += 1
        if keep_copies:
            report.copies.append(sent)  # the bytes the relay took, for the Sent folder
