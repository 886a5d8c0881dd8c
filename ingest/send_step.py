"""The send step: the replies the outbox holds as pending, sent over the poll's one SMTP connection (each
claimed, sent and committed on its own by ``notifications.send_pending``), and with ``smtp.sent_folder`` a copy
of each appended to that folder. The poll runs it after each chunk's messages are committed (before their
MOVE), so a backlog's first acknowledgements go out after its first chunk; the commits take turns with the
poll's, never two writers at once on SQLite."""

from __future__ import annotations

import contextlib
import logging

from ingest.errors import MailboxError
from ingest.mailbox import Mailbox
from ingest.services import Services
from notifications import OutboxReport, send_pending

log = logging.getLogger("ingest.poller")


def send_due(services: Services) -> OutboxReport:
    """Send what is due over the transport's connection (kept open for the next run: the poll closes it when
    it ends); with ``smtp.sent_folder`` the report holds each sent message's bytes for :func:`keep_copies`."""
    smtp = services.settings.smtp
    return send_pending(services.db, services.transport, smtp.sender, smtp.max_attempts,
                        keep_copies=bool(smtp.sent_folder))


def send_replies(services: Services, mailbox: Mailbox | None = None) -> OutboxReport:
    """:func:`send_due`, then the copies to the Sent folder (on ``mailbox``'s connection, or a fresh one)."""
    report = send_due(services)
    keep_copies(services, report.copies, mailbox)
    report.copies = []
    return report


def keep_copies(services: Services, messages: list[bytes], mailbox: Mailbox | None) -> None:
    """Append sent replies to the Sent folder (on ``mailbox``'s connection when the poll has one open); the
    replies are already sent, so a failure only warns."""
    if not messages:
        return
    folder = services.settings.smtp.sent_folder
    try:
        opened = (services.mailbox_factory(services.settings.mailbox) if mailbox is None
                  else contextlib.nullcontext(mailbox))
        with opened as box:
            for raw in messages:
                box.append(folder, raw)
    except (MailboxError, OSError) as error:
        log.warning("could not append %d sent replies to %s: %s", len(messages), folder, error)
