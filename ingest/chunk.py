"""One chunk of the mailbox, in three steps. ``prepare_chunk``: claim its messages, fetch them and archive
them all at once (the raw message before anything else happens to it), and hand each one archived to the
parse workers (its MIME parsed once, its files read). ``run_chunk``: write their rows in one transaction and
run each message's pipeline (outcome and reply committed together). ``finish_chunk``: move them out of the
inbox. ``ingest.read_ahead`` prepares the next chunk while one runs. A message that fails is counted; after
``MAX_ATTEMPTS`` it is parked (``ingest.parking``). An outage (``OUTAGES``) is raised to the poll, which
stops without charging any message an attempt."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import ExitStack
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from config import Settings
from config.faults import fault_point
from ingest.context import MessageContext
from ingest.errors import OUTAGES
from ingest.form_sandbox import options_from
from ingest.inbound_row import row_for
from ingest.mailbox import Mailbox, MailboxEntry
from ingest.message_files import MessageFiles
from ingest.message_reading import read_headers
from ingest.parking import MAX_ATTEMPTS, park, record_failure
from ingest.pipeline import OVERSIZED_PIPELINE, PIPELINE, Stage, run_pipeline
from ingest.poll_report import PollReport
from storage import InboundMessage
from storage.coordination import claim_many
from storage.states import MessageState, Outcome

if TYPE_CHECKING:
    from ingest.poller import Intake

log = logging.getLogger("ingest.poller")  # one logger for the poll and its chunks (operators filter on it)
CHUNK_MESSAGES = 20  # messages stored, parsed ahead and run together
# at most this much of a chunk's bodies downloaded at once (a larger message is a chunk of its own); with the
# next chunk read ahead, twice this is held at most (peak memory). Not smaller: a large message is then read
# while the chunk before it runs, instead of alone in a chunk of its own with nothing to overlap it
CHUNK_BYTES = 12 * 1024 * 1024


def _target(settings: Settings, outcome: str | None) -> str:
    mailbox = settings.mailbox
    if outcome == Outcome.QUARANTINED:
        return mailbox.quarantine_folder
    return mailbox.rejected_folder if outcome == Outcome.REJECTED else mailbox.processed_folder


def chunks(entries: list[MailboxEntry], limit: int) -> Iterator[list[MailboxEntry]]:
    """Consecutive entries, at most CHUNK_MESSAGES of them and CHUNK_BYTES of bodies to download."""
    chunk: list[MailboxEntry] = []
    size = 0
    for entry in entries:
        body = entry.size if entry.size <= limit else 0
        if chunk and (len(chunk) >= CHUNK_MESSAGES or size + body > CHUNK_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(entry)
        size += body
    if chunk:
        yield chunk


@dataclass
class _Known:
    id: int
    state: str
    attempts: int
    outcome: str | None
    moved_to: str | None


@dataclass
class _Stored:
    """A message fetched, archived and recorded, waiting for its pipeline."""

    entry: MailboxEntry
    raw: bytes
    headers: EmailMessage
    headers_only: bool
    digest: str
    row_id: int | None
    reading: Future[MessageFiles] | None = None  # the message reader reading it (None: headers only)
    row: InboundMessage | None = None  # a new one's row, made by _archive, written by _store; the pipeline
    # takes it up from there (not read again)


def _known(intake: Intake, mailbox: Mailbox, uids: list[str]) -> dict[str, _Known]:
    if not uids:
        return {}
    with intake.db.session() as session:
        rows = session.execute(select(InboundMessage.uid, InboundMessage.id, InboundMessage.state,
                                      InboundMessage.attempts, InboundMessage.outcome, InboundMessage.moved_to)
                               .where(InboundMessage.folder == mailbox.folder,
                                      InboundMessage.uidvalidity == mailbox.uidvalidity,
                                      InboundMessage.uid.in_(uids)))
        return {uid: _Known(row_id, state, attempts, outcome, moved_to)
                for uid, row_id, state, attempts, outcome, moved_to in rows}


@dataclass
class PreparedChunk:
    """A chunk's messages claimed, fetched and archived, each one handed to the parse pool: what remains is to
    write their rows, run their pipelines and move them (``run_chunk``, then ``finish_chunk``)."""

    waiting: list[_Stored]
    moves: list[tuple[MailboxEntry, int, str]]  # where each message goes, once its pipeline is done
    report: PollReport  # what preparing it counted (on its own thread): added to the poll's by run_chunk
    claims: ExitStack  # this worker's claims on the chunk's messages, held until finish_chunk (or release)

    def release(self) -> None:
        """Let go of the chunk without running it (the poll stopped first): its claims and its readings."""
        for item in self.waiting:
            if item.reading is not None:
                item.reading.cancel()
        self.claims.close()


def prepare_chunk(intake: Intake, mailbox: Mailbox, chunk: list[MailboxEntry]) -> PreparedChunk:
    """Claim the chunk's messages, fetch the new ones and archive them (the raw message before anything else
    happens to it), and hand each one archived to the parse pool. Touches no message's row but to count a
    failed fetch; may run on a thread of its own while the previous chunk's pipelines run."""
    settings = intake.settings
    account = f"{settings.mailbox.username}@{settings.mailbox.host}"
    report = PollReport()
    moves: list[tuple[MailboxEntry, int, str]] = []
    keys = [f"{account}\0{mailbox.folder}\0{mailbox.uidvalidity}\0{entry.uid}" for entry in chunk]
    claims = ExitStack()
    try:
        claimed = claims.enter_context(claim_many(intake.db, keys))
        mine = [entry for entry, ours in zip(chunk, claimed, strict=True) if ours]
        report.seen += len(chunk)
        report.claimed_elsewhere += len(chunk) - len(mine)
        known = _known(intake, mailbox, [e.uid for e in mine])
        to_run: list[tuple[MailboxEntry, int | None]] = []
        for entry in mine:
            row = known.get(entry.uid)
            state = row.state if row else None
            if row is not None and state == MessageState.ERROR and row.attempts >= MAX_ATTEMPTS:
                state = park(intake, row.id)  # staff reset the count to retry; until then, park it
                report.parked += 1
                row.outcome = Outcome.QUARANTINED
            if row is not None and state in (MessageState.PROCESSED, MessageState.PARKED):
                report.outcomes[row.outcome or "?"] = report.outcomes.get(row.outcome or "?", 0) + 1
                if row.moved_to != _target(settings, row.outcome):
                    moves.append((entry, row.id, _target(settings, row.outcome)))
                continue
            to_run.append((entry, row.id if row else None))
        limit = settings.call.max_message_bytes
        bodies = mailbox.fetch_many([entry.uid for entry, _ in to_run if entry.size <= limit])
        fetched: list[tuple[MailboxEntry, int | None, bytes]] = []
        for entry, row_id in to_run:
            try:
                raw = _fetch(mailbox, entry, limit, bodies.pop(entry.uid, None))
            except OUTAGES:
                raise
            except Exception as exc:
                if row_id is not None and _failed(intake, entry, row_id, exc, report):
                    moves.append((entry, row_id, settings.mailbox.quarantine_folder))
                continue
            if raw is not None:  # None: it vanished from the mailbox meanwhile
                fetched.append((entry, row_id, raw))
        waiting = _archive(intake, fetched, report, moves, (mailbox.folder, mailbox.uidvalidity))
    except BaseException:
        claims.close()
        raise
    return PreparedChunk(waiting, moves, report, claims)


def run_chunk(intake: Intake, prepared: PreparedChunk, report: PollReport,
              started: Callable[[], None] = lambda: None, committed: Callable[[], None] = lambda: None) -> None:
    """Write the rows of the chunk's new messages (one transaction), then run each message's pipeline (one
    commit each; ``started`` called before it, ``committed`` after). Uses no mailbox connection; on an outage
    the claims are let go and nothing is moved."""
    report.add(prepared.report)
    try:
        _store(intake, prepared.waiting)
        for item in prepared.waiting:
            started()
            target = _run_stored(intake, item, report)
            committed()  # its reply can go now
            item.raw, item.reading = b"", None  # done with: the memory goes back now
            if target is not None:
                prepared.moves.append((item.entry, item.row_id or 0, target))
    except BaseException:
        prepared.release()
        raise


def finish_chunk(intake: Intake, mailbox: Mailbox, prepared: PreparedChunk, report: PollReport) -> None:
    """Move the chunk's messages out of the inbox (after their commits), then let go of their claims."""
    with prepared.claims:
        _move(intake, mailbox, prepared.moves, report)


def _fetch(mailbox: Mailbox, entry: MailboxEntry, limit: int, body: bytes | None) -> bytes | None:
    """The message's bytes (``body``, fetched with the chunk's others; only the headers when it is over the
    size limit); None when it is no longer in the mailbox."""
    raw = mailbox.fetch_header(entry.uid) if entry.size > limit else body
    if raw is not None:
        fault_point("kill-after-fetch")
    return raw


def _archive(intake: Intake, fetched: list[tuple[MailboxEntry, int | None, bytes]], report: PollReport,
             moves: list[tuple[MailboxEntry, int, str]], place: tuple[str, str]) -> list[_Stored]:
    """Archive the chunk's messages, all at once: the raw message is stored before anything else happens to it
    (this returns once every write is done, so the rows written next refer only to durable files). Each one
    stored goes to the parse pool (its MIME, files and forms read in a worker, nothing kept) meanwhile, and a
    new one's row is made ready here (its digests and addresses worked out on this thread, which may be the
    read-ahead's, not on the poll's), to be written by ``_store``."""
    limit = intake.settings.call.max_message_bytes
    options = options_from(intake.settings.parsing)
    stored = intake.archive.put_many("messages", [raw for _, _, raw in fetched])
    waiting: list[_Stored] = []
    for (entry, row_id, raw), digest in zip(fetched, stored, strict=True):
        try:
            item = _Stored(entry, raw, read_headers(raw), entry.size > limit, digest.result(), row_id)
        except OUTAGES:
            raise
        except Exception as exc:
            if row_id is not None and _failed(intake, entry, row_id, exc, report):
                moves.append((entry, row_id, intake.settings.mailbox.quarantine_folder))
            continue
        fault_point("kill-after-archive")
        if not item.headers_only:
            item.reading = intake.reader.read(raw, options)
        if row_id is None:
            item.row = row_for(place, item.entry, item.raw, item.digest, item.headers_only, item.headers)
        waiting.append(item)
    return waiting


def _store(intake: Intake, waiting: list[_Stored]) -> None:
    """The rows of the chunk's new messages (made ready by ``_archive``), in one transaction."""
    new = [item for item in waiting if item.row_id is None]
    if not new:
        return
    with intake.db.session() as session:
        rows = []
        for item in new:
            assert item.row is not None  # every new message's row is made by _archive
            rows.append(item.row)
        session.add_all(rows)
        session.flush()
        for item, row in zip(new, rows, strict=True):
            item.row_id, item.row = row.id, row
    fault_point("kill-after-row")


def _failed(intake: Intake, entry: MailboxEntry, row_id: int | None, exc: Exception, report: PollReport) -> bool:
    """Count a message's failed attempt; True when it is now parked (and must be moved to quarantine)."""
    log.exception("message uid %s failed", entry.uid, exc_info=exc)
    report.errors += 1
    if row_id is None or record_failure(intake, row_id, exc) < MAX_ATTEMPTS:
        return False  # stays in the inbox, visible in the error state, tried again at the next poll
    park(intake, row_id)
    report.parked += 1
    return True


def _run_stored(intake: Intake, item: _Stored, report: PollReport) -> str | None:
    """One stored message's pipeline; the folder it goes to, or None when it stays in the inbox (failed)."""
    assert item.row_id is not None
    started = time.monotonic()
    try:
        row, item.row = item.row, None
        files = item.reading.result() if item.reading is not None else None  # a fault reading it: a failed attempt
        outcome = run_stored_message(intake, item.row_id, item.raw, OVERSIZED_PIPELINE if item.headers_only else None,
                                     item.headers, files, row)
    except OUTAGES:
        raise  # not the message's fault: the poll stops, the message stays in the inbox untouched
    except Exception as exc:  # one bad message must not stop the others
        return intake.settings.mailbox.quarantine_folder if _failed(intake, item.entry, item.row_id, exc,
                                                                    report) else None
    fault_point("kill-after-commit")
    report.processed += 1
    report.outcomes[outcome or "?"] = report.outcomes.get(outcome or "?", 0) + 1
    elapsed_ms = round((time.monotonic() - started) * 1000)
    log.info("message #%s uid %s: %s %s in %d ms", item.row_id, item.entry.uid, MessageState.PROCESSED, outcome,
             elapsed_ms, extra={"message_row": item.row_id, "uid": item.entry.uid, "state": MessageState.PROCESSED,
                                "outcome": outcome, "ms": elapsed_ms, "size": item.entry.size})
    return _target(intake.settings, outcome)


def _move(intake: Intake, mailbox: Mailbox, moves: list[tuple[MailboxEntry, int, str]], report: PollReport) -> None:
    """Move the chunk's messages out of the inbox (after their commits), then note where each went."""
    moved: dict[str, list[int]] = {}
    by_target: dict[str, list[tuple[MailboxEntry, int]]] = {}
    for entry, row_id, target in moves:
        by_target.setdefault(target, []).append((entry, row_id))
    try:
        for target, group in by_target.items():  # one MOVE per folder, not one per message
            fault_point("kill-before-move")
            mailbox.move_many([entry.uid for entry, _ in group], target)
            moved[target] = [row_id for _, row_id in group]
            report.moved += len(group)
    finally:
        if moved:
            with intake.db.session() as session:
                for target, ids in moved.items():
                    session.execute(update(InboundMessage).where(InboundMessage.id.in_(ids))
                                    .values(moved_to=target).execution_options(synchronize_session=False))


def run_stored_message(intake: Intake, row_id: int, raw: bytes, stages: tuple[Stage, ...] | None,
                       headers: EmailMessage | None = None, files: MessageFiles | None = None,
                       row: InboundMessage | None = None) -> str | None:
    """The pipeline over one stored message, committed once: outcome, application and reply together.
    ``files``: the message as the reader read it (else it is read now); ``row``: the message's row as this poll
    just wrote it (taken into the session as it is, not read again); without it, the row ``row_id`` is read.
    Returns the outcome."""
    settings = intake.settings
    options = options_from(settings.parsing)
    if stages is None and files is None:
        files = intake.reader.read(raw, options).result()
    with intake.db.session() as session:
        if row is not None:
            session.add(row)
        else:
            row = session.get(InboundMessage, row_id)
        assert row is not None and row.id == row_id
        ctx = MessageContext(settings=settings, session=session, archive=intake.archive, row=row,
                             message=headers if headers is not None else read_headers(raw), files=files,
                             parse=intake.reader, parse_options=options)
        started = time.monotonic()
        try:
            run_pipeline(ctx, stages or PIPELINE)
        finally:
            if files is not None:
                files.cancel_readings()  # a .doc's, when the message stopped before its form was looked for
        row.processing_ms = round((time.monotonic() - started) * 1000)
        return row.outcome
