"""Send the replies storage holds as pending: retries with backoff, failures shown to staff."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
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


def send_pending(db: Database, transport: Transport, sender: str, max_attempts: int,
                 now: datetime | None = None, on_sent: Callable[[bytes], None] | None = None,
                 close: bool = True, commit_turn: Callable[[], AbstractContextManager[None]] = nullcontext
                 ) -> OutboxReport:
    """Send every pending reply that is due. Each reply is claimed (a row lock that another worker skips,
    on PostgreSQL), sent, and committed on its own; ``on_sent`` gets each sent message's bytes (to keep a copy
    in a Sent folder). A crash between the server's 250 and the commit sends that one reply again: at most
    one duplicate per crash, never a lost reply. The transport's connection is closed at the end unless
    ``close`` is False (a caller sending again soon keeps it, and closes it itself). ``commit_turn`` is
    entered around each sent reply's commit (holding no lock until then: on SQLite nothing is written yet)."""
    report = OutboxReport()
    now = now or utcnow()
    with db.session() as session:
        due = list(session.scalars(select(Reply.id)
                                   .where(Reply.status == ReplyStatus.PENDING, Reply.next_attempt_at <= now)
                                   .order_by(Reply.id)))
    try:
        for reply_id in due:
            _send_one(db, transport, sender, max_attempts, now, reply_id, report, on_sent, commit_turn)
    finally:
        if close:
            transport.close()  # one connection served every reply of this run
    return report


def _send_one(db: Database, transport: Transport, sender: str, max_attempts: int, now: datetime, reply_id: int,
              report: OutboxReport, on_sent: Callable[[bytes], None] | None,
              commit_turn: Callable[[], AbstractContextManager[None]] = nullcontext) -> None:
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
        if on_sent is not None:
            on_sent(sent)  # the bytes the relay took, for the Sent folder
        with commit_turn():
            session.commit()
