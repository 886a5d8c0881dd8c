"""The 10 MB gate: a message over ``max_message_bytes`` is judged on RFC822.SIZE and its headers alone.

It is never downloaded; its headers are archived, it is recorded as rejected, and its sender is told
why and how to resend (unless RFC 3834 says not to answer).
"""

from __future__ import annotations

from config import Settings
from ingest.loop_guard import no_reply_reason
from ingest.mailbox import MailboxEntry
from ingest.mime import header, parse_message
from ingest.reply_queue import queue_reply
from notifications.compose import parse_sender
from storage import InboundMessage
from storage.models import utcnow


def is_oversized(entry: MailboxEntry, settings: Settings) -> bool:
    return entry.size > settings.call.max_message_bytes


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f}".replace(".", ",")


def reject_oversized(row: InboundMessage, header_bytes: bytes, settings: Settings) -> None:
    """Record ``row`` as rejected for size and queue the reply (not committed)."""
    message = parse_message(header_bytes)
    limit = settings.call.max_message_bytes
    row.outcome = "rejected"
    row.reason = f"message is {row.size} bytes, over the limit of {limit} bytes; not downloaded"
    row.state = "processed"
    row.processed_at = utcnow()
    if no_reply_reason(message, parse_sender(settings.smtp.sender)[1]) is not None:
        row.reason += "; no automatic reply (auto-submitted, list or bounce)"
        return
    queue_reply(row, settings, "size_rejection",
                {"size_mb": _megabytes(row.size), "limit_mb": f"{limit / 1_048_576:g}".replace(".", ",")},
                prior_references=header(message, "References"))
