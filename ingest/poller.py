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

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from config import MailboxSettings, Settings
from config.faults import fault_point
from ingest.context import MessageContext
from ingest.errors import MailboxError, WorkerConflict
from ingest.form_sandbox import FormSandbox, options_from
from ingest.loop_guard import no_reply_reason_for
from ingest.mailbox import Mailbox, MailboxEntry, open_mailbox
from ingest.message_reading import content_digest, read_headers
from ingest.mime import address_of, clean, header, reply_address
from ingest.pipeline import OVERSIZED_PIPELINE, PIPELINE, Stage, run_pipeline
from notifications import OutboxReport, Transport, make_transport, send_pending
from notifications.reply_queue import queue_reply
from parsers.form_file import Parse, parse_form
from storage import Archive, ArchiveUnavailable, Database, InboundMessage
from storage.coordination import acquire_lease, claim, release_lease
from storage.models import utcnow
from storage.queries import find_message
from storage.reasons import NoReply, NoReplyCode, QuarantineCode, Reason, ReasonCode
from storage.staff import record_poll
from storage.states import MessageState, Outcome, ReplyKind

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3
# an outage, not a fault of the message: the poll stops and no message is charged an attempt
OUTAGES = (MailboxError, ArchiveUnavailable, DBAPIError)
MailboxFactory = Callable[[MailboxSettings], AbstractContextManager[Mailbox]]


@dataclass
class PollReport:
    seen: int = 0
    processed: int = 0
    moved: int = 0
    errors: int = 0
    parked: int = 0
    claimed_elsewhere: int = 0  # another worker had the message (PostgreSQL, several workers)
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
        report = PollReport()
        account = f"{self.settings.mailbox.username}@{self.settings.mailbox.host}"
        try:
            with self.mailbox_factory(self.settings.mailbox) as mailbox:
                for entry in mailbox.entries():
                    report.seen += 1
                    key = f"{account}\0{mailbox.folder}\0{mailbox.uidvalidity}\0{entry.uid}"
                    with claim(self.db, key) as mine:
                        if not mine:
                            report.claimed_elsewhere += 1
                            continue
                        _handle_entry(self, mailbox, entry, report)
            _retry_from_archive(self, report)
        except Exception as error:
            try:
                with self.db.session() as session:
                    record_poll(session, error=f"{type(error).__name__}: {error}")
            except DBAPIError:
                log.error("could not record the failed poll: the database does not answer")
            raise
        with self.db.session() as session:  # for /healthz: the mailbox was read to its end
            record_poll(session)
        report.outbox = self.send_replies()
        return report

    def close(self) -> None:
        """Stop the parsing worker, give up the lease and release database connections."""
        if isinstance(self.form_parser, FormSandbox):
            self.form_parser.close()
        try:
            release_lease(self.db)
        except DBAPIError as error:
            log.warning("could not release the worker lease: %s", error)
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


def _new_row(mailbox: Mailbox, entry: MailboxEntry, raw: bytes, digest: str, headers_only: bool) -> InboundMessage:
    """The message's row, from headers read safely: never raises on what the message holds."""
    message = read_headers(raw)
    message_id = clean(header(message, "Message-ID"))
    name, address = address_of(message, "From")
    content = content_digest(raw, headers_only=headers_only)
    return InboundMessage(
        folder=mailbox.folder, uidvalidity=mailbox.uidvalidity, uid=entry.uid,
        message_id=message_id or None, dedupe_key=message_id or "sha256:" + content, content_digest=content,
        sender=address, sender_name=name, reply_address=reply_address(message) or None,
        subject=header(message, "Subject"), received_at=entry.received_at, size=entry.size,
        raw_sha256=digest, headers_only=headers_only, state=MessageState.RECEIVED,
    )


def _target(settings: Settings, row: InboundMessage) -> str:
    mailbox = settings.mailbox
    if row.outcome == Outcome.QUARANTINED:
        return mailbox.quarantine_folder
    return mailbox.rejected_folder if row.outcome == Outcome.REJECTED else mailbox.processed_folder


def _handle_entry(intake: Intake, mailbox: Mailbox, entry: MailboxEntry, report: PollReport) -> None:
    settings, db = intake.settings, intake.db
    with db.session() as session:
        row = find_message(session, mailbox.folder, mailbox.uidvalidity, entry.uid)
        row_id = row.id if row else None
        state = row.state if row else None
        attempts = row.attempts if row else 0
    if state == MessageState.ERROR and attempts >= MAX_ATTEMPTS:  # staff reset the count to retry; until then, park it
        state = _park(intake, row_id)
        report.parked += 1
    started = time.monotonic()
    if state in (None, MessageState.RECEIVED, MessageState.ERROR):
        progress = _Progress(row_id)
        try:
            row_id = _process(intake, mailbox, entry, progress)
            report.processed += row_id is not None
        except OUTAGES:
            raise  # not the message's fault: the poll stops, the message stays in the inbox untouched
        except Exception as exc:  # one bad message must not stop the others
            log.exception("message uid %s failed", entry.uid)
            report.errors += 1
            row_id = progress.row_id
            if row_id is None or _record_failure(intake, row_id, exc) < MAX_ATTEMPTS:
                return  # stays in the inbox, visible in the error state, tried again at the next poll
            _park(intake, row_id)
            report.parked += 1
        if row_id is None:  # vanished from the mailbox meanwhile
            return
    with db.session() as session:
        row = session.get(InboundMessage, row_id)
        assert row is not None
        report.outcomes[row.outcome or "?"] = report.outcomes.get(row.outcome or "?", 0) + 1
        target = _target(settings, row)
        if state not in (MessageState.PROCESSED, MessageState.PARKED):  # a line per message processed now; ids only
            elapsed_ms = round((time.monotonic() - started) * 1000)
            log.info("message #%s uid %s: %s %s in %d ms", row.id, entry.uid, row.state, row.outcome, elapsed_ms,
                     extra={"message_row": row.id, "uid": entry.uid, "state": row.state, "outcome": row.outcome,
                            "ms": elapsed_ms, "size": entry.size})
        if row.moved_to == target:
            return
    fault_point("kill-before-move")
    mailbox.move(entry.uid, target)
    with db.session() as session:
        moved = session.get(InboundMessage, row_id)
        assert moved is not None
        moved.moved_to = target
    report.moved += 1


def _record_failure(intake: Intake, row_id: int, exc: Exception) -> int:
    """Count a failed attempt on the message's row; returns the attempts so far."""
    with intake.db.session() as session:
        failed = session.get(InboundMessage, row_id)
        if failed is None:
            return 0
        failed.state, failed.attempts = MessageState.ERROR, failed.attempts + 1
        failed.error = f"{type(exc).__name__}: {exc}"[:2000]
        return failed.attempts


def _park(intake: Intake, row_id: int | None) -> str:
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


@dataclass
class _Progress:
    row_id: int | None


def _store(intake: Intake, mailbox: Mailbox, entry: MailboxEntry, raw: bytes, progress: _Progress,
           headers_only: bool) -> int:
    """Archive ``raw`` and write the message's row (once); returns the row id."""
    digest = intake.archive.put("messages", raw)  # the raw message is stored before anything else happens to it
    fault_point("kill-after-archive")
    if progress.row_id is None:
        with intake.db.session() as session:
            try:
                row = _new_row(mailbox, entry, raw, digest, headers_only)
            except Exception as exc:  # defensive: a row is written whatever the headers hold
                log.exception("uid %s: headers unreadable", entry.uid)
                row = InboundMessage(folder=mailbox.folder, uidvalidity=mailbox.uidvalidity, uid=entry.uid,
                                     dedupe_key="sha256:" + digest, subject="", received_at=entry.received_at,
                                     size=entry.size, raw_sha256=digest, headers_only=headers_only,
                                     state=MessageState.ERROR,
                                     error=f"headers unreadable: {type(exc).__name__}: {exc}"[:2000])
            session.add(row)
            session.flush()
            progress.row_id = row.id
        fault_point("kill-after-row")
    return progress.row_id


def _process(intake: Intake, mailbox: Mailbox, entry: MailboxEntry, progress: _Progress) -> int | None:
    """Store and process one message; returns its row id, or None if it vanished from the mailbox."""
    oversized_message = entry.size > intake.settings.call.max_message_bytes
    raw = mailbox.fetch_header(entry.uid) if oversized_message else mailbox.fetch(entry.uid)
    if raw is None:
        return None
    fault_point("kill-after-fetch")
    row_id = _store(intake, mailbox, entry, raw, progress, headers_only=oversized_message)
    _run(intake, row_id, raw, OVERSIZED_PIPELINE if oversized_message else None)
    fault_point("kill-after-commit")
    return row_id


def _run(intake: Intake, row_id: int, raw: bytes, stages: tuple[Stage, ...] | None) -> None:
    """The pipeline over one stored message, committed once: outcome, application and reply together."""
    settings = intake.settings
    with intake.db.session() as session:
        row = session.get(InboundMessage, row_id)
        assert row is not None
        ctx = MessageContext(settings=settings, session=session, archive=intake.archive, row=row,
                             message=read_headers(raw), raw=None if stages else raw,
                             parse=intake.form_parser or parse_form, parse_options=options_from(settings.parsing))
        started = time.monotonic()
        run_pipeline(ctx, stages or PIPELINE)
        row.processing_ms = round((time.monotonic() - started) * 1000)


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
                _run(intake, row_id, raw, OVERSIZED_PIPELINE if headers_only else None)
            except OUTAGES:
                raise
            except Exception as exc:
                log.exception("message #%s failed again", row_id)
                report.errors += 1
                if _record_failure(intake, row_id, exc) >= MAX_ATTEMPTS:
                    _park(intake, row_id)
                    report.parked += 1
                continue
            report.processed += 1
