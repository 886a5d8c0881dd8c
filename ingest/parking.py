"""A message that keeps failing: each failed attempt counted on its row, and after ``MAX_ATTEMPTS`` the message
parked (shown to staff with its error, its sender told when the loop rules allow; the caller moves it to the
quarantine folder)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ingest.loop_guard import no_reply_reason_for
from ingest.message_reading import read_headers
from ingest.mime import header
from notifications.reply_queue import queue_reply
from storage import InboundMessage
from storage.models import utcnow
from storage.reasons import NoReply, NoReplyCode, QuarantineCode, Reason, ReasonCode
from storage.states import MessageState, Outcome, ReplyKind

if TYPE_CHECKING:
    from ingest.poller import Intake

log = logging.getLogger("ingest.poller")  # the poll's logger (operators filter on it)
MAX_ATTEMPTS = 3


def record_failure(intake: Intake, row_id: int, exc: Exception) -> int:
    """Count a failed attempt on the message's row; returns the attempts so far."""
    with intake.db.session() as session:
        failed = session.get(InboundMessage, row_id)
        if failed is None:
            return 0
        failed.state, failed.attempts = MessageState.ERROR, failed.attempts + 1
        failed.error = f"{type(exc).__name__}: {exc}"[:2000]
        return failed.attempts


def park(intake: Intake, row_id: int | None) -> str:
    """Give up on a message that failed every attempt: state parked, outcome quarantined, its error kept for
    staff, its sender told (when the loop rules allow); the caller then moves it to the quarantine folder."""
    settings = intake.settings
    with intake.db.session() as session:
        row = session.get(InboundMessage, row_id)
        assert row is not None
        row.state, row.outcome, row.processed_at = MessageState.PARKED, Outcome.QUARANTINED, utcnow()
        reason = Reason(ReasonCode.QUARANTINED, {"limit": QuarantineCode.WORKER_GAVE_UP, "attempts": row.attempts})
        try:
            headers = read_headers(intake.archive.get("messages", row.raw_sha256)) if row.raw_sha256 else None
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
