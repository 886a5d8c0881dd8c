"""A message that keeps failing: each failed attempt counted on its row, and after ``MAX_ATTEMPTS`` the message
parked (shown to staff with its error, its sender told when the loop rules allow; the caller moves it to the
quarantine folder)."""

from __future__ import annotations

import logging

from ingest.loop_guard import no_reply_reason_for
from ingest.mailbox import MailboxEntry
from ingest.message_reading import read_headers
from ingest.mime import header
from ingest.poll_report import PollReport
from ingest.services import Services
from notifications.reply_queue import queue_reply
from storage import InboundMessage
from storage.models import utcnow
from storage.reasons import NoReply, NoReplyCode, QuarantineCode, Reason, ReasonCode
from storage.states import MessageState, Outcome, ReplyKind

log = logging.getLogger("ingest.poller")  # the poll's logger (operators filter on it)
MAX_ATTEMPTS = 3


def record_failure(services: Services, row_id: int, exc: Exception) -> int:
    """Count a failed attempt on the message's row; returns the attempts so far."""
    with services.db.session() as session:
        failed = session.get(InboundMessage, row_id)
        if failed is None:
            return 0
        failed.state, failed.attempts = MessageState.ERROR, failed.attempts + 1
        failed.error = f"{type(exc).__name__}: {exc}"[:2000]
        return failed.attempts


def park(services: Services, row_id: int | None) -> str:
    """Give up on a message that failed every attempt: state parked, outcome quarantined, its error kept for
    staff, its sender told (when the loop rules allow); the caller then moves it to the quarantine folder."""
    settings = services.settings
    with services.db.session() as session:
        row = session.get(InboundMessage, row_id)
        assert row is not None
        row.state, row.outcome, row.processed_at = MessageState.PARKED, Outcome.QUARANTINED, utcnow()
        reason = Reason(ReasonCode.QUARANTINED, {"limit": QuarantineCode.WORKER_GAVE_UP, "attempts": row.attempts})
        try:
            headers = read_headers(services.archive.get("messages", row.raw_sha256)) if row.raw_sha256 else None
        except OSError:
            headers = None
        no_reply = no_reply_reason_for(headers, settings) if headers is not None else NoReply(
            NoReplyCode.RAW_UNAVAILABLE)
        row.reason = reason if no_reply is None else reason.with_no_reply(no_reply)
        if headers is not None and no_reply is None and not any(
                reply.kind == ReplyKind.REJECTION for reply in row.replies):
            queue_reply(row, settings, "quarantined", {"structure_limit": QuarantineCode.WORKER_GAVE_UP},
                        prior_references=header(headers, "References"))
        log.error("message #%s parked after %d attempts: %s", row.id, row.attempts, row.error)
        return row.state


def count_failure(services: Services, row_id: int | None, exc: Exception, report: PollReport,
                  entry: MailboxEntry | None = None) -> bool:
    """Count a message's failed attempt; True when it is now parked (and must be moved to quarantine)."""
    log.exception("message #%s (uid %s) failed", row_id, entry.uid if entry else "-, from the archive", exc_info=exc)
    report.errors += 1
    if row_id is None or record_failure(services, row_id, exc) < MAX_ATTEMPTS:
        return False  # stays where it is, visible in the error state, tried again at the next poll
    park(services, row_id)
    report.parked += 1
    return True
