"""The process step: a fetched chunk's new rows written in one transaction, then each message's pipeline in
arrival order, committed once each (outcome, application and queued reply together). A message that fails
is counted; after ``MAX_ATTEMPTS`` it is parked (``ingest.parking``). An outage (``OUTAGES``) is raised to the
poll, which stops without charging the message an attempt and moves nothing."""

from __future__ import annotations

import logging
import time
from email.message import EmailMessage

from config.faults import fault_point
from ingest.context import MessageContext
from ingest.errors import OUTAGES
from ingest.fetch_step import FetchedChunk, Stored
from ingest.file_archive import store_files
from ingest.form_sandbox import options_from
from ingest.message_files import MessageFiles
from ingest.message_reading import read_headers
from ingest.move_step import target_folder
from ingest.parking import count_failure
from ingest.pipeline import OVERSIZED_PIPELINE, PIPELINE, Stage, run_pipeline
from ingest.poll_report import PollReport
from ingest.services import Services
from storage import InboundMessage
from storage.states import MessageState

log = logging.getLogger("ingest.poller")  # one logger for the poll and its steps (operators filter on it)


def process_chunk(services: Services, fetched: FetchedChunk, report: PollReport) -> None:
    """Write the rows of the chunk's new messages (one transaction), then run each message's pipeline (one
    commit each), noting where each goes. Uses no mailbox connection; on an outage the poll lets go of the
    chunk's claims and moves nothing."""
    report.add(fetched.report)
    _store(services, fetched.waiting)
    for item in fetched.waiting:
        target = _run_stored(services, item, report)
        item.raw, item.reading = b"", None  # done with: the memory goes back now
        if target is not None:
            fetched.moves.append((item.entry, item.row_id or 0, target))


def _store(services: Services, waiting: list[Stored]) -> None:
    """The rows of the chunk's new messages (made ready by the fetch step), in one transaction."""
    new = [item for item in waiting if item.row_id is None]
    if not new:
        return
    with services.db.session() as session:
        rows = []
        for item in new:
            assert item.row is not None  # every new message's row is made by the fetch step
            rows.append(item.row)
        session.add_all(rows)
        session.flush()
        for item, row in zip(new, rows, strict=True):
            item.row_id, item.row = row.id, row
    fault_point("kill-after-row")


def _run_stored(services: Services, item: Stored, report: PollReport) -> str | None:
    """One stored message's pipeline; the folder it goes to, or None when it stays in the inbox (failed)."""
    assert item.row_id is not None
    started = time.monotonic()
    try:
        row, item.row = item.row, None
        files = item.reading.result() if item.reading is not None else None  # a fault reading it: a failed attempt
        outcome = run_stored_message(services, item.row_id, item.raw,
                                     OVERSIZED_PIPELINE if item.headers_only else None, item.headers, files, row)
    except OUTAGES:
        raise  # not the message's fault: the poll stops, the message stays in the inbox untouched
    except Exception as exc:  # one bad message must not stop the others
        parked = count_failure(services, item.row_id, exc, report, item.entry)
        return services.settings.mailbox.quarantine_folder if parked else None
    fault_point("kill-after-commit")
    report.processed += 1
    report.outcomes[outcome or "?"] = report.outcomes.get(outcome or "?", 0) + 1
    elapsed_ms = round((time.monotonic() - started) * 1000)
    log.info("message #%s uid %s: %s %s in %d ms", item.row_id, item.entry.uid, MessageState.PROCESSED, outcome,
             elapsed_ms, extra={"message_row": item.row_id, "uid": item.entry.uid, "state": MessageState.PROCESSED,
                                "outcome": outcome, "ms": elapsed_ms, "size": item.entry.size})
    return target_folder(services.settings, outcome)


def run_stored_message(services: Services, row_id: int, raw: bytes, stages: tuple[Stage, ...] | None,
                       headers: EmailMessage | None = None, files: MessageFiles | None = None,
                       row: InboundMessage | None = None) -> str | None:
    """The pipeline over one stored message, committed once: outcome, application and reply together.
    ``files``: the message as the reader read it (else it is read now); ``row``: the message's row as this poll
    just wrote it (taken into the session as it is, not read again); without it, the row ``row_id`` is read.
    Returns the outcome."""
    settings = services.settings
    options = options_from(settings.parsing)
    if stages is None and files is None:
        files = services.reader.read(raw, options).result()
        store_files(services.archive, [files])
    with services.db.session() as session:
        if row is not None:
            session.add(row)
        else:
            row = session.get(InboundMessage, row_id)
        assert row is not None and row.id == row_id
        ctx = MessageContext(settings=settings, session=session, archive=services.archive, row=row,
                             message=headers if headers is not None else read_headers(raw), files=files,
                             parse=services.reader, parse_options=options)
        started = time.monotonic()
        try:
            run_pipeline(ctx, stages or PIPELINE)
        finally:
            if files is not None:
                files.cancel_readings()  # a .doc's, when the message stopped before its form was looked for
        row.processing_ms = round((time.monotonic() - started) * 1000)
        return row.outcome
