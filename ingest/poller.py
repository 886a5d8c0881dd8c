"""One poll cycle: list the mailbox, gate on size, store the raw message first, run the pipeline, move.

Nothing is lost: the raw message and its row are committed before any parsing; the outcome and the
queued reply are committed together; only then is the message moved out of the inbox. A crash at any
point leaves the message in the inbox, and the next cycle picks up where this one stopped, by
(folder, UIDVALIDITY, UID) and by Message-ID.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from config import MailboxSettings, Settings
from ingest.context import MessageContext
from ingest.errors import MailboxError
from ingest.form_sandbox import FormSandbox, options_from
from ingest.mailbox import Mailbox, MailboxEntry, open_mailbox
from ingest.mime import address_of, clean, header, parse_message, reply_address
from ingest.pipeline import run_pipeline
from ingest.size_gate import is_oversized, reject_oversized
from notifications import OutboxReport, Transport, make_transport, send_pending
from parsers.form_file import Parse, parse_form
from storage import Archive, Database, InboundMessage
from storage.queries import find_message, find_original
from storage.staff import record_poll

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3
FAULT_ENV = "UIP_INTAKE_FAULT"
MailboxFactory = Callable[[MailboxSettings], AbstractContextManager[Mailbox]]


@dataclass
class PollReport:
    seen: int = 0
    processed: int = 0
    moved: int = 0
    errors: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    outbox: OutboxReport | None = None


@dataclass
class Intake:
    """The service's parts, wired from settings; tests replace the mailbox factory or the transport."""

    settings: Settings
    db: Database
    archive: Archive
    transport: Transport
    mailbox_factory: MailboxFactory = open_mailbox
    form_parser: Parse | None = None  # default: the bounded sandbox, or parse_form when parsing.isolate is off

    def __post_init__(self) -> None:
        if self.form_parser is None:
            isolate = self.settings.parsing.isolate
            self.form_parser = FormSandbox.from_settings(self.settings.parsing) if isolate else parse_form

    @classmethod
    def from_settings(cls, settings: Settings) -> Intake:
        return cls(settings, Database(settings.database.url), Archive(settings.storage.archive_dir),
                   make_transport(settings.smtp))

    def poll_once(self) -> PollReport:
        report = PollReport()
        try:
            with self.mailbox_factory(self.settings.mailbox) as mailbox:
                for entry in mailbox.entries():
                    report.seen += 1
                    _handle_entry(self, mailbox, entry, report)
        except Exception as error:
            with self.db.session() as session:
                record_poll(session, error=f"{type(error).__name__}: {error}")
            raise
        with self.db.session() as session:  # for /healthz: the mailbox was read to its end
            record_poll(session)
        report.outbox = self.send_replies()
        return report

    def close(self) -> None:
        """Stop the parsing worker and release database connections."""
        if isinstance(self.form_parser, FormSandbox):
            self.form_parser.close()
        self.db.dispose()

    def send_replies(self) -> OutboxReport:
        sent: list[bytes] = []
        smtp = self.settings.smtp
        report = send_pending(self.db, self.transport, smtp.sender, smtp.max_attempts,
                              on_sent=sent.append if smtp.sent_folder else None)
        if sent:
            self._keep_copies(sent)
        return report

    def _keep_copies(self, messages: list[bytes]) -> None:
        """Append sent replies to the Sent folder; the replies are already sent, so a failure only warns."""
        try:
            with self.mailbox_factory(self.settings.mailbox) as mailbox:
                for raw in messages:
                    mailbox.append(self.settings.smtp.sent_folder, raw)
        except (MailboxError, OSError) as error:
            log.warning("could not append %d sent replies to %s: %s", len(messages),
                        self.settings.smtp.sent_folder, error)


def _dedupe_key(message_id: str, raw: bytes) -> str:
    return message_id or "sha256:" + hashlib.sha256(raw).hexdigest()


def _new_row(mailbox: Mailbox, entry: MailboxEntry, raw: bytes, digest: str, headers_only: bool) -> InboundMessage:
    message = parse_message(raw)
    message_id = clean(header(message, "Message-ID"))
    name, address = address_of(message, "From")
    return InboundMessage(
        folder=mailbox.folder, uidvalidity=mailbox.uidvalidity, uid=entry.uid,
        message_id=message_id or None, dedupe_key=_dedupe_key(message_id, raw),
        sender=address, sender_name=name, reply_address=reply_address(message) or None,
        subject=header(message, "Subject"), received_at=entry.received_at, size=entry.size,
        raw_sha256=digest, headers_only=headers_only, state="received",
    )


def _handle_entry(intake: Intake, mailbox: Mailbox, entry: MailboxEntry, report: PollReport) -> None:
    settings, db = intake.settings, intake.db
    with db.session() as session:
        row = find_message(session, mailbox.folder, mailbox.uidvalidity, entry.uid)
        row_id = row.id if row else None
        state = (row.state, row.outcome, row.attempts) if row else None
    if state is not None and state[0] == "error" and state[2] >= MAX_ATTEMPTS:
        return  # visible to staff with its error; left in the inbox for them
    if state is None or state[0] != "processed":
        progress = _Progress(row_id)
        try:
            row_id = _process(intake, mailbox, entry, progress)
        except Exception as exc:  # one bad message must not stop the others
            log.exception("message uid %s failed", entry.uid)
            report.errors += 1
            row_id = progress.row_id
            if row_id is not None:
                with db.session() as session:
                    failed = session.get(InboundMessage, row_id)
                    if failed is not None:
                        failed.state, failed.attempts = "error", failed.attempts + 1
                        failed.error = f"{type(exc).__name__}: {exc}"[:2000]
            return
        if row_id is None:  # vanished from the mailbox meanwhile
            return
        report.processed += 1
    with db.session() as session:
        row = session.get(InboundMessage, row_id)
        assert row is not None
        report.outcomes[row.outcome or "?"] = report.outcomes.get(row.outcome or "?", 0) + 1
        target = settings.mailbox.rejected_folder if row.outcome == "rejected" else settings.mailbox.processed_folder
        if row.moved_to == target:
            return
    if os.environ.get(FAULT_ENV) == "kill-before-move":  # fault injection for the crash test; never set in service
        os.kill(os.getpid(), signal.SIGKILL)
    mailbox.move(entry.uid, target)
    with db.session() as session:
        moved = session.get(InboundMessage, row_id)
        assert moved is not None
        moved.moved_to = target
    report.moved += 1


@dataclass
class _Progress:
    row_id: int | None


def _process(intake: Intake, mailbox: Mailbox, entry: MailboxEntry, progress: _Progress) -> int | None:
    """Store and process one message; returns its row id, or None if it vanished from the mailbox."""
    settings, db, archive = intake.settings, intake.db, intake.archive
    row_id = progress.row_id
    if is_oversized(entry, settings):
        head = mailbox.fetch_header(entry.uid)
        if head is None:
            return None
        digest = archive.put("messages", head)
        with db.session() as session:
            row = session.get(InboundMessage, row_id) if row_id else None
            if row is None:
                row = _new_row(mailbox, entry, head, digest, headers_only=True)
                session.add(row)
                session.flush()
                progress.row_id = row.id
            original = find_original(session, row.dedupe_key, exclude_id=row.id)
            if original is not None:
                row.state, row.outcome, row.duplicate_of_id = "processed", "duplicate", original.id
                row.reason = f"same oversized email as message #{original.id}"
            else:
                reject_oversized(row, head, settings)
            return row.id
    raw = mailbox.fetch(entry.uid)
    if raw is None:
        return None
    digest = archive.put("messages", raw)  # the raw message is stored before anything else happens to it
    if row_id is None:
        with db.session() as session:
            row = _new_row(mailbox, entry, raw, digest, headers_only=False)
            session.add(row)
            session.flush()
            row_id = progress.row_id = row.id
    with db.session() as session:
        row = session.get(InboundMessage, row_id)
        assert row is not None
        ctx = MessageContext(settings=settings, session=session, archive=archive, row=row,
                             message=parse_message(raw), parse=intake.form_parser or parse_form,
                             parse_options=options_from(settings.parsing))
        run_pipeline(ctx)
    return row_id
