"""One poll: list the mailbox, then for each chunk of it, top-down, the four steps over the states the
database holds: fetch (claim, FETCH, archive; ``ingest.fetch_step``), process (write the rows, run each
message's pipeline, one commit each; ``ingest.process_step``), send (the outbox's pending replies;
``ingest.send_step``) and move (out of the inbox; ``ingest.move_step``). The next chunk is fetched on a thread
of its own while this one is processed (the read-ahead); the other steps take turns on the poll's thread, so
on SQLite there is one writer at a time, and one thread uses the mailbox's connection at a time.

Nothing is lost: the raw message and its row are committed before any pipeline runs; the outcome and the
queued reply are committed together; only then is the message moved out of the inbox. A crash at any point
leaves the message in the inbox, and the next cycle picks up where this one stopped, by (folder, UIDVALIDITY,
UID) and by Message-ID. A message that fails ``MAX_ATTEMPTS`` times is parked: shown to staff with its error,
moved to the quarantine folder and its sender answered when the loop rules allow. An outage (mailbox,
database, archive) stops the poll without counting against any message. Several workers may poll one
mailbox on PostgreSQL: each message is claimed by one of them (``storage.coordination.claim``); on SQLite a
second worker is refused (a lease).
"""

from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from ingest.errors import OUTAGES, WorkerConflict
from ingest.fetch_step import FetchedChunk, chunks, fetch_chunk
from ingest.mailbox import Mailbox, MailboxEntry
from ingest.move_step import move_messages
from ingest.parking import MAX_ATTEMPTS, count_failure
from ingest.pipeline import OVERSIZED_PIPELINE
from ingest.poll_report import PollReport
from ingest.process_step import process_chunk, run_stored_message
from ingest.send_step import keep_copies, send_due, send_replies
from ingest.services import Services
from notifications import OutboxReport
from storage import InboundMessage
from storage.coordination import acquire_lease, claim
from storage.staff import record_poll
from storage.states import MessageState

__all__ = ["MAX_ATTEMPTS", "Intake"]
log = logging.getLogger(__name__)


class Intake(Services):
    """The service's parts (``Services``) and the poll over them."""

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
        outbox = OutboxReport()
        report = PollReport(outbox=outbox)
        try:
            with self.mailbox_factory(self.settings.mailbox) as mailbox:
                self._chunks(mailbox, mailbox.entries(), report)
                _retry_from_archive(self, report)
                outbox.add(send_replies(self, mailbox))  # those of the messages retried
                with self.db.session() as session:  # for /healthz: the mailbox was read to its end
                    record_poll(session)
        except Exception as error:
            try:
                with self.db.session() as session:
                    record_poll(session, error=f"{type(error).__name__}: {error}")
            except DBAPIError:
                log.error("could not record the failed poll: the database does not answer")
            raise  # what is not sent yet goes at the next poll
        finally:
            self._close_transport()
        return report

    def _chunks(self, mailbox: Mailbox, entries: list[MailboxEntry], report: PollReport) -> None:
        """Each chunk in turn: processed, its replies sent, moved; the next one fetched meanwhile (its FETCH
        done before this chunk's Sent copies and MOVE: one thread on the connection at a time)."""
        assert report.outbox is not None
        todo = deque(chunks(entries, self.settings.call.max_message_bytes))
        if not todo:
            return
        with ThreadPoolExecutor(1, thread_name_prefix="uip-read-ahead") as read_ahead:
            current: FetchedChunk | None = fetch_chunk(self, mailbox, todo.popleft())
            while current is not None:
                following = read_ahead.submit(fetch_chunk, self, mailbox, todo.popleft()) if todo else None
                try:
                    process_chunk(self, current, report)
                    sent = send_due(self)
                except BaseException:
                    current.release()
                    _let_go(following)  # the poll stops: the next chunk is left as it was found
                    raise
                next_chunk, error = _wait(following)
                try:
                    with current.claims:  # let go of once moved, or when the poll stops here
                        keep_copies(self, sent.copies, mailbox)
                        sent.copies = []
                        report.outbox.add(sent)
                        move_messages(self, mailbox, current.moves, report)
                except BaseException:
                    if next_chunk is not None:
                        next_chunk.release()
                    raise
                if error is not None:
                    raise error  # an outage met while fetching the next chunk: this one was finished first
                current = next_chunk

    def send_replies(self) -> OutboxReport:
        """Send what is pending (over one SMTP connection); with ``smtp.sent_folder``, keep a copy of each there."""
        try:
            return send_replies(self)
        finally:
            self._close_transport()

    def _close_transport(self) -> None:
        try:
            self.transport.close()
        except Exception:  # the replies are sent and committed: a failed QUIT is no failure of theirs
            log.warning("closing the poll's SMTP connection failed", exc_info=True)


def _wait(following: Future[FetchedChunk] | None) -> tuple[FetchedChunk | None, BaseException | None]:
    if following is None:
        return None, None
    error = following.exception()
    return (None, error) if error is not None else (following.result(), None)


def _let_go(following: Future[FetchedChunk] | None) -> None:
    """Wait for the chunk being fetched, then release its claims and readings."""
    next_chunk, _ = _wait(following)  # its own failure, if any, is not the poll's error
    if next_chunk is not None:
        next_chunk.release()


def _retry_from_archive(services: Services, report: PollReport) -> None:
    """Messages staff asked to retry after they were parked (no longer in the inbox): run them again from the
    archive; they stay in the quarantine folder, their outcome is what the pipeline now decides."""
    quarantine = services.settings.mailbox.quarantine_folder
    with services.db.session() as session:
        waiting = list(session.execute(
            select(InboundMessage.id, InboundMessage.raw_sha256, InboundMessage.headers_only)
            .where(InboundMessage.state == MessageState.ERROR, InboundMessage.moved_to == quarantine)))
    for row_id, raw_sha256, headers_only in waiting:
        with claim(services.db, f"archive\0{row_id}") as mine:
            if not mine or raw_sha256 is None:
                continue
            raw = services.archive.get("messages", raw_sha256)
            try:
                run_stored_message(services, row_id, raw, OVERSIZED_PIPELINE if headers_only else None)
            except OUTAGES:
                raise
            except Exception as exc:
                count_failure(services, row_id, exc, report)  # parked again after MAX_ATTEMPTS; it stays put
                continue
            report.processed += 1
