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
from ingest.message_reading import MessageLimits, MessageStructureError, read_headers, read_message
from ingest.mime import MimePart, attachments
from ingest.parking import MAX_ATTEMPTS, park, record_failure
from ingest.parse_pool import ParsePool
from ingest.pipeline import OVERSIZED_PIPELINE, PIPELINE, Stage, run_pipeline
from ingest.poll_report import PollReport
from parsers.form_file import parse_form
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
    parsed: EmailMessage | None = None  # the whole message, parsed once (None: beyond the limits)
    parts: list[MimePart] | None = None
    refusal: tuple[str, str] | None = None  # or the limit it broke, read ahead: (code, detail)
    reading: Future[MessageFiles | None] | None = None  # the parse pool reading it
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
    batch: int  # the parse pool's readings for this chunk (0: no pool)

    def release(self, intake: Intake) -> None:
        """Let go of the chunk without running it (the poll stopped first): its claims and its readings."""
        _forget_readings(intake, self.batch)
        self.claims.close()


def _forget_readings(intake: Intake, batch: int) -> None:
    """Drop what the parse pool read for the chunk ``batch`` and nobody asked for."""
    if isinstance(intake.form_parser, ParsePool):
        intake.form_parser.forget_ahead(batch)


def prepare_chunk(intake: Intake, mailbox: Mailbox, chunk: list[MailboxEntry]) -> PreparedChunk:
    """Claim the chunk's messages, fetch the new ones and archive them (the raw message before anything else
    happens to it), and hand each one archived to the parse pool. Touches no message's row but to count a
    failed fetch; may run on a thread of its own while the previous chunk's pipelines run."""
    settings = intake.settings
    account = f"{settings.mailbox.username}@{settings.mailbox.host}"
    report = PollReport()
    moves: list[tuple[MailboxEntry, int, str]] = []
    pool = intake.form_parser if isinstance(intake.form_parser, ParsePool) else None
    batch = pool.new_batch() if pool is not None else 0
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
        waiting = _archive(intake, fetched, report, moves, batch, (mailbox.folder, mailbox.uidvalidity))
    except BaseException:
        _forget_readings(intake, batch)
        claims.close()
        raise
    return PreparedChunk(waiting, moves, report, claims, batch)


def run_chunk(intake: Intake, prepared: PreparedChunk, report: PollReport,
              started: Callable[[], None] = lambda: None, committed: Callable[[], None] = lambda: None) -> None:
    """Write the rows of the chunk's new messages (one transaction), then run each message's pipeline (one
    commit each; ``started`` called before it, ``committed`` after). Uses no mailbox connection; on an outage
    the claims are let go and nothing is moved."""
    report.add(prepared.report)
    try:
        _store(intake, prepared.waiting)
        _parse_ahead(intake, prepared.waiting)
        for item in prepared.waiting:
            _await_reading(item)
            started()
            target = _run_stored(intake, item, report)
            committed()  # its reply can go now
            item.raw, item.parsed, item.parts = b"", None, None  # done with: the memory goes back now
            if target is not None:
                prepared.moves.append((item.entry, item.row_id or 0, target))
    except BaseException:
        prepared.release(intake)
        raise
    _forget_readings(intake, prepared.batch)


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
             moves: list[tuple[MailboxEntry, int, str]], batch: int, place: tuple[str, str]) -> list[_Stored]:
    """Archive the chunk's messages, all at once: the raw message is stored before anything else happens to it
    (this returns once every write is done, so the rows written next refer only to durable files). Each one
    stored goes to the parse pool (its MIME, files and forms read in a worker, nothing kept) meanwhile, and a
    new one's row is made ready here (its digests and addresses worked out on this thread, which may be the
    read-ahead's, not on the poll's), to be written by ``_store``."""
    limit = intake.settings.call.max_message_bytes
    pool = intake.form_parser if isinstance(intake.form_parser, ParsePool) else None
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
        if pool is not None and not item.headers_only:
            item.reading = pool.submit_message(raw, options, batch)
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


def _parse_ahead(intake: Intake, waiting: list[_Stored]) -> None:
    """Without a parse pool, read each message here, once, before the pipelines run (with one, the pool has
    each since it was archived)."""
    if isinstance(intake.form_parser, ParsePool):
        return
    limits = MessageLimits.from_settings(intake.settings.limits)
    for item in waiting:
        if item.headers_only:
            continue
        try:
            item.parsed = read_message(item.raw, limits)
            item.parts = attachments(item.parsed)
        except MessageStructureError as error:  # beyond its limits: the structure stage quarantines it
            item.refusal = (error.code, error.detail)


def _await_reading(item: _Stored) -> None:
    """The message as the parse pool read it. When the pool could not read it, the pipeline does (its
    structure stage, which quarantines a message beyond its limits; its files then parsed on demand)."""
    if item.reading is None:
        return
    reading, item.reading = item.reading, None
    try:
        files = reading.result()
    except Exception:  # a fault of the pool, not of the message
        log.exception("uid %s: the parse pool failed to read the message", item.entry.uid)
        return
    if files is not None:
        item.parsed, item.parts, item.refusal = files.parsed, files.parts, files.refusal


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
        outcome = run_stored_message(intake, item.row_id, item.raw, OVERSIZED_PIPELINE if item.headers_only else None,
                                     item.headers, item.parsed, item.parts, row, item.refusal)
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
         headers: EmailMessage | None = None, parsed: EmailMessage | None = None,
         parts: list[MimePart] | None = None, row: InboundMessage | None = None,
         refusal: tuple[str, str] | None = None) -> str | None:
    """The pipeline over one stored message, committed once: outcome, application and reply together.
    ``row``: the message's row as this poll just wrote it (taken into the session as it is, not read again);
    without it, the row ``row_id`` is read. Returns the outcome."""
    settings = intake.settings
    with intake.db.session() as session:
        if row is not None:
            session.add(row)
        else:
            row = session.get(InboundMessage, row_id)
        assert row is not None and row.id == row_id
        ctx = MessageContext(settings=settings, session=session, archive=intake.archive, row=row,
                             message=headers if headers is not None else read_headers(raw),
                             raw=None if stages else raw, parsed_ahead=parsed, parts_ahead=parts,
                             refused_ahead=refusal,
                             parse=intake.form_parser or parse_form, parse_options=options_from(settings.parsing))
        started = time.monotonic()
        run_pipeline(ctx, stages or PIPELINE)
        row.processing_ms = round((time.monotonic() - started) * 1000)
        return row.outcome
