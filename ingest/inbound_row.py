"""A new message's row (``storage.InboundMessage``), made from its headers before it is written: who sent it,
what it is about, its Message-ID or content digest to know it again by. Never raises on what the message
holds: headers that cannot be read give a row in the error state that says so."""

from __future__ import annotations

import logging
from email.message import EmailMessage

from ingest.mailbox import MailboxEntry
from ingest.message_reading import content_digest
from ingest.mime import address_of, clean, header, reply_address
from storage import InboundMessage
from storage.states import MessageState

log = logging.getLogger("ingest.poller")  # the poll's logger: its rows are made on the poll's threads


def row_for(place: tuple[str, str], entry: MailboxEntry, raw: bytes, digest: str, headers_only: bool,
            message: EmailMessage) -> InboundMessage:
    """The row of the message ``entry`` in the folder and UIDVALIDITY ``place``, not yet added to a session."""
    try:
        return _new_row(place, entry, raw, digest, headers_only, message)
    except Exception as exc:  # defensive: a row is written whatever the headers hold
        log.exception("uid %s: headers unreadable", entry.uid)
        return InboundMessage(folder=place[0], uidvalidity=place[1], uid=entry.uid, dedupe_key="sha256:" + digest,
                              subject="", received_at=entry.received_at, size=entry.size, raw_sha256=digest,
                              headers_only=headers_only, state=MessageState.ERROR,
                              error=f"headers unreadable: {type(exc).__name__}: {exc}"[:2000])


def _new_row(place: tuple[str, str], entry: MailboxEntry, raw: bytes, digest: str, headers_only: bool,
            message: EmailMessage) -> InboundMessage:
    """The message's row, from headers read safely (``row_for`` answers for what may still go wrong)."""
    message_id = clean(header(message, "Message-ID"))
    name, address = address_of(message, "From")
    content = content_digest(raw, headers_only=headers_only)
    return InboundMessage(
        folder=place[0], uidvalidity=place[1], uid=entry.uid,
        message_id=message_id or None, dedupe_key=message_id or "sha256:" + content, content_digest=content,
        sender=address, sender_name=name, reply_address=reply_address(message) or None,
        subject=header(message, "Subject"), received_at=entry.received_at, size=entry.size,
        raw_sha256=digest, headers_only=headers_only, state=MessageState.RECEIVED,
    )
