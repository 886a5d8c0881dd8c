"""One message as a mailbox lists it, before anything of it is downloaded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class MailboxEntry:
    uid: str  # IMAP UID, Maildir key or Graph (immutable) message id
    size: int  # bytes, as the server says (RFC822.SIZE, the file, PidTagMessageSize)
    received_at: datetime  # INTERNALDATE (IMAP), delivery time (Maildir) or receivedDateTime (Graph); aware
