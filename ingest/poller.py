"""One poll cycle: list the mailbox, claim each message, store the raw message first, run the pipeline, move.

Nothing is lost: the raw message and its row are committed before any parsing (the row is written from
headers read safely, whatever the message holds); the outcome and the queued reply are committed together;
only then is the message moved out of the inbox. A crash at any point leaves the message in the inbox, and
the next cycle picks up where this one stopped, by (folder, UIDVALIDITY, UID) and by Message-ID. A message
that fails ``MAX_ATTEMPTS`` times is parked: shown to staff with its error, moved to the quarantine folder
and its sender answered when the loop rules allow. An outage (mailbox, database, archive) stops the poll
without counting against any message. Several workers may poll one mailbox on PostgreSQL: each message is
claimed by one of them (``storage.coordination.claim``); on SQLite a second worker is refused (a lease).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from config import MailboxSettings, Settings
from ingest.chunk import run_stored_message
from ingest.errors import OUTAGES, MailboxError, WorkerConflict
from ingest.mailbox import Mailbox, open_mailbox
from ingest.message_reader import MessageReader, reader_for
from ingest.parking import MAX_ATTEMPTS, park, record_failure
from ingest.pipeline import OVERSIZED_PIPELINE
from ingest.poll_report import PollReport
from ingest.read_ahead import handle_chunks
from ingest.reply_sender import ReplySender
from notifications import OutboxReport, Transport, make_transport, send_pending
from storage import Archive, Database, InboundMessage
from storage.coordination import acquire_lease, claim, release_lease
from storage.staff import record_poll
from storage.states import MessageState

log = logging.getLogger(__name__)
MailboxFactory = Callable[[MailboxSettings], AbstractContextManager[Mailbox]]


@dataclass
class Intake:
    """The service's parts, wired from settings; tests replace the mailbox factory or the transport."""

    settings: Settings
    db: Database
    archive: Archive
    transport: Transport
    mailbox_factory: MailboxFactory = open_mailbox
    # default (None given): the settings' reader, bounded parse workers or this process (made in __post_init__)
    reader: MessageReader = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.reader is None:
            self.reader = reader_for(self.settings.parsing, self.settings.limits)

    @classmethod
    def from_settings(cls, settings: Settings) -> Intake:
        return cls(settings, Database(settings.database.url), Archive(settings.storage.archive_dir),
                   make_transport(settings.smtp))

    def take_lease(self) -> None:
        """On SQLite, be the one worker of this database, or raise WorkerConflict naming the other."""
        ttl = timedelta(seconds=max(600, 3 * self.settings.mailbox.poll_seconds))
        other = acquire_lease(self.db, ttl)
        if other is not None:
            raise WorkerConflict(
                f"another worker ({other.holder}) polls this mailbox with this SQLite database until "
                f"{other.expires_at:%Y-%m-%d %H:%M} UTC; SQLite allows one worker: stop the other one, or use "
                "PostgreSQL (database.url) to run several")

    def poll_once(self) -> PollReport:
        self.take_lease()
        self.reader.retire_idle()  # a LibreOffice no .doc has needed for a while is ended
        self.reader.warm_up()  # the parse workers start while the mailbox is opened and listed
        report = PollReport()
        one_writer = self.db.engine.dialect.name == "sqlite"  # the sender's commits take turns with the poll's
        sender = ReplySender(lambda on_sent: self._send_run(
                                 on_sent, close=False, commit_turn=sender.commit_turn if one_writer else nullcontext),
                             keep_copies=bool(self.settings.smtp.sent_folder), done=self.transport.close)
        try:
            with self.mailbox_factory(self.settings.mailbox) as mailbox:
                entries = mailbox.entries()

                def after_chunk() -> None:
                    self._keep_copies(sender.take_copies(), mailbox)  # on this connection, in this thread

                # each reply goes as soon as its message is committed; the next chunk is read meanwhile
                handle_chunks(self, mailbox, entries, report, started=sender.message_started,
                              committed=sender.wake, after_each=after_chunk)
                _retry_from_archive(self, report)
                with self.db.session() as session:  # for /healthz: the mailbox was read to its end
                    record_poll(session)
                report.outbox = sender.finish()
                self._keep_copies(sender.take_copies(), mailbox)
        except Exception as error:
            try:
                with self.db.session() as session:
                    record_poll(session, error=f"{type(error).__name__}: {error}")
            except DBAPIError:
                log.error("could not record the failed poll: the database does not answer")
            raise
        finally:
            # done already when the poll ended well; after a failure what is not sent waits for the next poll,
            # and the copies of what was sent go to the Sent folder over a fresh connection (or a warning)
            sender.finish(send_the_rest=False)
            self._keep_copies(sender.take_copies(), None)
        return report

    def close(self) -> None:
        """Stop the parsing worker and the archive's writers, give up the lease and release database
        connections."""
        self.reader.close()
        self.archive.close()
        try:
            release_lease(self.db)
        except DBAPIError as error:
            log.warning("could not release the worker lease: %s", error)
        self.db.dispose()

    def send_replies(self) -> OutboxReport:
        """Send what is pending (over one SMTP connection); with ``smtp.sent_folder``, keep a copy of each there."""
        sent: list[bytes] = []
        report = self._send_run(sent.append if self.settings.smtp.sent_folder else None)
        self._keep_copies(sent, None)
        return report

    def _send_run(self, on_sent: Callable[[bytes], None] | None, close: bool = True,
                  commit_turn: Callable[[], AbstractContextManager[None]] = nullcontext) -> OutboxReport:
        smtp = self.settings.smtp
        return send_pending(self.db, self.transport, smtp.sender, smtp.max_attempts, on_sent=on_sent, close=close,
                            commit_turn=commit_turn)

    def _keep_copies(self, messages: list[bytes], mailbox: Mailbox | None) -> None:
        """Append sent replies to the Sent folder (on ``mailbox``'s connection when the poll has one open); the
        replies are already sent, so a failure only warns."""
        if not messages:
            return
        try:
            opened = self.mailbox_factory(self.settings.mailbox) if mailbox is None else contextlib.nullcontext(mailbox)
            with opened as box:
                for raw in messages:
                    box.append(self.settings.smtp.sent_folder, raw)
        except (MailboxError, OSError) as error:
            log.warning("could not append %d sent replies to %s: %s", len(messages),
                        self.settings.smtp.sent_folder, error)


def _retry_from_archive(intake: Intake, report: PollReport) -> None:
    """Messages staff asked to retry after they were parked (no longer in the inbox): run them again from the
    archive; they stay in the quarantine folder, their outcome is what the pipeline now decides."""
    quarantine = intake.settings.mailbox.quarantine_folder
    with intake.db.session() as session:
        waiting = list(session.execute(
            select(InboundMessage.id, InboundMessage.raw_sha256, InboundMessage.headers_only)
            .where(InboundMessage.state == MessageState.ERROR, InboundMessage.moved_to == quarantine)))
    for row_id, raw_sha256, headers_only in waiting:
        with claim(intake.db, f"archive\0{row_id}") as mine:
            if not mine or raw_sha256 is None:
                continue
            raw = intake.archive.get("messages", raw_sha256)
            try:
                run_stored_message(intake, row_id, raw, OVERSIZED_PIPELINE if headers_only else None)
            except OUTAGES:
                raise
            except Exception as exc:
                log.exception("message #%s failed again", row_id)
                report.errors += 1
                if record_failure(intake, row_id, exc) >= MAX_ATTEMPTS:
                    park(intake, row_id)
                    report.parked += 1
                continue
            report.processed += 1
