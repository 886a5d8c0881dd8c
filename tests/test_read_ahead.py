"""A poll reads its next chunk while this chunk's pipelines run (real Dovecot and SMTP sink, both databases):
the next chunk is fetched and archived meanwhile, its rows are written only when it runs, and an outage on
either side leaves every message accounted for, with no claim or reading left behind."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from imapclient import IMAPClient
from sqlalchemy import func, select

from config import MailboxSettings
from ingest import fetch_step, process_step
from ingest.demo import application_email, complete_values, to_bytes
from ingest.errors import MailboxError
from ingest.fetch_step import CHUNK_MESSAGES
from ingest.mailbox import Mailbox, open_mailbox
from ingest.message_reader import InlineReader
from ingest.poller import Intake
from parsers.file_safety import FileKind
from parsers.form_file import ParseOptions, parse_form
from parsers.form_record import FormRecord
from storage import Application, ArchiveUnavailable, InboundMessage, Reply

ON_TIME = datetime(2019, 9, 2, 9, 0, tzinfo=UTC)


def _deliver(imap: IMAPClient, count: int, tag: str) -> None:
    for n in range(count):
        imap.append("INBOX", to_bytes(application_email(complete_values(), sender=f"Sag {n} <sag{n}@kommune{n}.dk>",
                                                        message_id=f"<{tag}-{n}@kommune.dk>")), msg_time=ON_TIME)


def _archived_messages(root: Path) -> int:
    return sum(1 for path in (root / "messages").rglob("*") if path.is_file())


def _folder_count(imap: IMAPClient, folder: str) -> int:
    imap.select_folder(folder, readonly=True)
    return len(imap.search("ALL"))


def test_the_next_chunk_is_fetched_and_archived_while_this_chunks_last_message_runs(intake, imap, smtp):
    """At the first chunk's last form, the next chunk's messages are already in the archive (waited for up to
    20 s), and their rows are not yet written: the raw message first, its row when its chunk runs."""
    count = CHUNK_MESSAGES + 2
    _deliver(imap, count, "ahead")
    seen: list[tuple[int, int]] = []
    calls = [0]

    def parse(data: bytes, filename: str, options: ParseOptions) -> tuple[FileKind, FormRecord | None]:
        calls[0] += 1
        if calls[0] == CHUNK_MESSAGES:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and _archived_messages(intake.archive.root) < count:
                time.sleep(0.02)
            with intake.db.session() as session:
                rows = session.scalar(select(func.count()).select_from(InboundMessage))
            seen.append((_archived_messages(intake.archive.root), rows or 0))
        return parse_form(data, filename, options)

    watching = Intake(intake.settings, intake.db, intake.archive, intake.transport, reader=InlineReader(parse))
    report = watching.poll_once()
    assert seen == [(count, CHUNK_MESSAGES)]
    assert report.processed == count and report.moved == count and report.seen == count and report.errors == 0
    with intake.db.session() as session:  # in arrival order across the chunks
        references = [a.reference for a in session.scalars(select(Application).order_by(Application.id))]
    assert references == [f"AD-2019-{n:04d}" for n in range(1, count + 1)]


def _mailbox_failing_at_fetch(number: int) -> tuple[object, list[int]]:
    """A mailbox factory whose connection fails at its ``number``-th FETCH of bodies; and the calls made."""
    calls: list[int] = []

    @contextlib.contextmanager
    def factory(settings: MailboxSettings) -> Iterator[Mailbox]:
        with open_mailbox(settings) as box:
            fetch_many = box.fetch_many

            def failing(uids: list[str]) -> dict[str, bytes]:
                calls.append(len(uids))
                if len(calls) == number:
                    raise MailboxError("the IMAP connection was lost (injected)")
                return fetch_many(uids)

            box.fetch_many = failing  # type: ignore[method-assign]
            yield box

    return factory, calls


def test_an_outage_while_the_next_chunk_is_read_finishes_this_chunk_first_and_loses_nothing(intake, imap, smtp):
    sink, _ = smtp
    count = CHUNK_MESSAGES + 3
    _deliver(imap, count, "outage")
    factory, calls = _mailbox_failing_at_fetch(2)
    failing = Intake(intake.settings, intake.db, intake.archive, intake.transport, mailbox_factory=factory)
    try:
        failing.poll_once()
        raise AssertionError("the poll should have stopped on the outage")
    except MailboxError:
        pass
    assert calls == [CHUNK_MESSAGES, 3]
    processed = intake.settings.mailbox.processed_folder
    assert _folder_count(imap, processed) == CHUNK_MESSAGES  # this chunk committed and moved
    assert _folder_count(imap, "INBOX") == 3  # the next one left as it was, no row written for it
    with intake.db.session() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == CHUNK_MESSAGES
    report = intake.poll_once()
    assert report.processed == 3 and report.errors == 0 and report.claimed_elsewhere == 0
    assert _folder_count(imap, processed) == count and _folder_count(imap, "INBOX") == 0
    with intake.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Application)) == count
        assert [r.status for r in session.scalars(select(Reply))] == ["sent"] * count
    assert len(sink.messages) == count  # each answered once


def test_a_poll_stopped_in_a_chunk_lets_go_of_the_next_chunk_it_was_reading(intake, imap, smtp, monkeypatch):
    """An outage in the first chunk's pipelines: the chunk being read meanwhile is released (its claims, so
    another worker takes it on PostgreSQL, and its readings, so the pool holds nothing), and nothing is lost."""
    count = CHUNK_MESSAGES + 3
    _deliver(imap, count, "stop")
    run_stored_message = process_step.run_stored_message
    prepared = threading.Event()
    real_fetch = fetch_step.fetch_chunk
    calls: list[int] = []

    def prepare(*args: object) -> object:
        calls.append(1)
        try:
            return real_fetch(*args)  # type: ignore[arg-type]
        finally:
            if len(calls) == 2:  # the next chunk, prepared while the first one runs
                prepared.set()

    def first_fails(*args: object, **kwargs: object) -> object:
        prepared.wait(20)  # the next chunk is being read by now
        raise ArchiveUnavailable("the archive's disk went away (injected)")

    monkeypatch.setattr("ingest.poller.fetch_chunk", prepare)
    monkeypatch.setattr(process_step, "run_stored_message", first_fails)
    try:
        intake.poll_once()
        raise AssertionError("the poll should have stopped on the outage")
    except ArchiveUnavailable:
        pass
    assert _folder_count(imap, "INBOX") == count
    assert prepared.is_set()
    monkeypatch.setattr(process_step, "run_stored_message", run_stored_message)
    report = intake.poll_once()  # on PostgreSQL a claim left behind would be another connection's: skipped
    assert report.claimed_elsewhere == 0 and report.processed == count and report.errors == 0
    assert _folder_count(imap, "INBOX") == 0
