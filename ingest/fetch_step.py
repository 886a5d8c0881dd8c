"""The fetch step: one chunk of the mailbox claimed, fetched and archived, each message handed to the message
reader. The raw message is stored before anything else happens to it; the rows are written by the process
step, on the poll's thread (one writer at a time on SQLite). The poll runs this step for the next chunk on a
thread of its own while the process step runs the chunk before it: that is the read-ahead, bounded to one
chunk (``CHUNK_BYTES`` of bodies). A message whose fetch fails is counted; after ``MAX_ATTEMPTS`` it is
parked. An outage (``OUTAGES``) is raised to the poll, which stops without charging any message an attempt."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import ExitStack
from dataclasses import dataclass
from email.message import EmailMessage

from sqlalchemy import select

from config.faults import fault_point
from ingest.errors import OUTAGES
from ingest.file_archive import store_files
from ingest.form_sandbox import options_from
from ingest.inbound_row import row_for
from ingest.mailbox import Mailbox, MailboxEntry
from ingest.message_files import MessageFiles
from ingest.message_reading import read_headers
from ingest.move_step import Move, target_folder
from ingest.parking import MAX_ATTEMPTS, count_failure, park
from ingest.poll_report import PollReport
from ingest.services import Services
from storage import InboundMessage
from storage.coordination import claim_many
from storage.states import MessageState, Outcome

CHUNK_MESSAGES = 20  # messages stored, read and run together
# at most this much of a chunk's bodies downloaded at once (a larger message is a chunk of its own); with the
# next chunk read ahead, twice this is held at most (peak memory). Not smaller: a large message is then read
# while the chunk before it runs, instead of alone in a chunk of its own with nothing to overlap it
CHUNK_BYTES = 12 * 1024 * 1024


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
class Stored:
    """A message fetched and archived, waiting for its pipeline."""

    entry: MailboxEntry
    raw: bytes
    headers: EmailMessage
    headers_only: bool
    digest: str
    row_id: int | None
    reading: Future[MessageFiles] | None = None  # the message reader reading it (None: headers only)
    row: InboundMessage | None = None  # a new one's row, made ready here, written by the process step (which
    # then takes it up as it is, not read again)


@dataclass
class FetchedChunk:
    """A chunk's messages claimed, fetched and archived, each one handed to the reader: what remains is to
    process them and move them."""

    waiting: list[Stored]
    moves: list[Move]  # where each message goes, once its pipeline is done
    report: PollReport  # what fetching it counted (on its own thread): added to the poll's by the process step
    claims: ExitStack  # this worker's claims on the chunk's messages, held until they are moved (or released)

    def release(self) -> None:
        """Let go of the chunk's claims and its readings (the poll stopped before it was moved)."""
        for item in self.waiting:
            if item.reading is not None:
                item.reading.cancel()
        self.claims.close()


@dataclass
class _Known:
    id: int
    state: str
    attempts: int
    outcome: str | None
    moved_to: str | None


def _known(services: Services, mailbox: Mailbox, uids: list[str]) -> dict[str, _Known]:
    if not uids:
        return {}
    with services.db.session() as session:
        rows = session.execute(select(InboundMessage.uid, InboundMessage.id, InboundMessage.state,
                                      InboundMessage.attempts, InboundMessage.outcome, InboundMessage.moved_to)
                               .where(InboundMessage.folder == mailbox.folder,
                                      InboundMessage.uidvalidity == mailbox.uidvalidity,
                                      InboundMessage.uid.in_(uids)))
        return {uid: _Known(row_id, state, attempts, outcome, moved_to)
                for uid, row_id, state, attempts, outcome, moved_to in rows}


def fetch_chunk(services: Services, mailbox: Mailbox, chunk: list[MailboxEntry]) -> FetchedChunk:
    """Claim the chunk's messages, fetch the new ones and archive them (the raw message before anything else
    happens to it), and hand each one archived to the reader. Touches no message's row but to count a failed
    fetch (or park one that failed every attempt); may run on a thread of its own."""
    settings = services.settings
    account = f"{settings.mailbox.username}@{settings.mailbox.host}"
    report = PollReport()
    moves: list[Move] = []
    keys = [f"{account}\0{mailbox.folder}\0{mailbox.uidvalidity}\0{entry.uid}" for entry in chunk]
    claims = ExitStack()
    try:
        claimed = claims.enter_context(claim_many(services.db, keys))
        mine = [entry for entry, ours in zip(chunk, claimed, strict=True) if ours]
        report.seen += len(chunk)
        report.claimed_elsewhere += len(chunk) - len(mine)
        known = _known(services, mailbox, [e.uid for e in mine])
        to_run: list[tuple[MailboxEntry, int | None]] = []
        for entry in mine:
            row = known.get(entry.uid)
            state = row.state if row else None
            if row is not None and state == MessageState.ERROR and row.attempts >= MAX_ATTEMPTS:
                state = park(services, row.id)  # staff reset the count to retry; until then, park it
                report.parked += 1
                row.outcome = Outcome.QUARANTINED
            if row is not None and state in (MessageState.PROCESSED, MessageState.PARKED):
                report.outcomes[row.outcome or "?"] = report.outcomes.get(row.outcome or "?", 0) + 1
                if row.moved_to != target_folder(settings, row.outcome):
                    moves.append((entry, row.id, target_folder(settings, row.outcome)))
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
                if row_id is not None and count_failure(services, row_id, exc, report, entry):
                    moves.append((entry, row_id, settings.mailbox.quarantine_folder))
                continue
            if raw is not None:  # None: it vanished from the mailbox meanwhile
                fetched.append((entry, row_id, raw))
        waiting = _archive(services, fetched, report, moves, (mailbox.folder, mailbox.uidvalidity))
    except BaseException:
        claims.close()
        raise
    return FetchedChunk(waiting, moves, report, claims)


def _fetch(mailbox: Mailbox, entry: MailboxEntry, limit: int, body: bytes | None) -> bytes | None:
    """The message's bytes (``body``, fetched with the chunk's others; only the headers when it is over the
    size limit); None when it is no longer in the mailbox."""
    raw = mailbox.fetch_header(entry.uid) if entry.size > limit else body
    if raw is not None:
        fault_point("kill-after-fetch")
    return raw


def _archive(services: Services, fetched: list[tuple[MailboxEntry, int | None, bytes]], report: PollReport,
             moves: list[Move], place: tuple[str, str]) -> list[Stored]:
    """Archive the chunk's messages, all at once: the raw message is stored before anything else happens to it
    (this returns once every write is done, so the rows written next refer only to durable files). Each one
    stored goes to the reader (its MIME, files and forms read in a worker) and a new one's row is made ready
    here (its digests and addresses worked out on this thread), to be written by the process step; then, as
    the readings come back, the chunk's attached files are archived, all at once too."""
    limit = services.settings.call.max_message_bytes
    options = options_from(services.settings.parsing)
    stored = services.archive.put_many("messages", [raw for _, _, raw in fetched])
    waiting: list[Stored] = []
    for (entry, row_id, raw), digest in zip(fetched, stored, strict=True):
        try:
            item = Stored(entry, raw, read_headers(raw), entry.size > limit, digest.result(), row_id)
        except OUTAGES:
            raise
        except Exception as exc:
            if row_id is not None and count_failure(services, row_id, exc, report, entry):
                moves.append((entry, row_id, services.settings.mailbox.quarantine_folder))
            continue
        fault_point("kill-after-archive")
        if not item.headers_only:
            item.reading = services.reader.read(raw, options)
        if row_id is None:
            item.row = row_for(place, item.entry, item.raw, item.digest, item.headers_only, item.headers)
        waiting.append(item)
    store_files(services.archive, [files for files in map(_read, waiting) if files is not None])
    return waiting


def _read(item: Stored) -> MessageFiles | None:
    """The message as the reader read it; None when headers only, or when reading it failed (the process step
    meets the same failure and counts it against the message)."""
    if item.reading is None:
        return None
    try:
        return item.reading.result()
    except Exception:
        return None
