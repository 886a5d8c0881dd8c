"""Nothing lost, against real Dovecot, aiosmtpd, SQLite and PostgreSQL: hostile headers and structures, reused
Message-IDs, a message that fails every time, and an archive that cannot be written."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from ingest.demo import application_email, complete_values, to_bytes
from ingest.message_reader import InlineReader
from ingest.poller import MAX_ATTEMPTS, Intake
from notifications import make_transport
from storage import Application, Archive, ArchiveUnavailable, Database, InboundMessage, Reply
from storage.staff import messages_by_state, service_status

pytestmark = pytest.mark.servers
MORNING = datetime(2019, 9, 2, 8, 0, tzinfo=UTC)


def folder_count(imap, folder: str) -> int:
    if not imap.folder_exists(folder):
        return 0
    imap.select_folder(folder, readonly=True)
    return len(imap.search("ALL"))


def rows(intake: Intake) -> list[InboundMessage]:
    with intake.db.session() as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def nested(depth: int) -> bytes:
    head = (b"From: Jens <jens@kommune.dk>\r\nTo: uip-imp2@socialstyrelsen.dk\r\nSubject: dyb\r\n"
            b"Message-ID: <deep@kommune.dk>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n")
    body = b"".join(b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1) for i in range(depth))
    body += b"--b%d\r\nContent-Type: text/plain\r\n\r\nhej\r\n--b%d--\r\n" % (depth, depth)
    body += b"".join(b"--b%d--\r\n" % i for i in reversed(range(depth)))
    return head + body


def test_a_from_whose_encoded_word_decodes_to_a_line_break_gets_a_row_an_application_and_a_reply(intake, imap,
                                                                                                   smtp):
    sink, _ = smtp
    message = application_email(complete_values(), message_id="<crlf@kommune.dk>")
    raw = to_bytes(message).replace(b"From: Mette Jensen <mette.jensen@aarhus.dk>",
                                    b"From: =?utf-8?q?Jens=0AHansen?= <jens@kommune.dk>")
    assert b"Jens=0AHansen" in raw
    imap.append("INBOX", raw, msg_time=MORNING)
    report = intake.poll_once()
    assert report.errors == 0
    (row,) = rows(intake)
    assert (row.state, row.outcome, row.sender) == ("processed", "application", "jens@kommune.dk")
    assert row.sender_name == "Jens Hansen"  # the line break never reaches a name, a header or a page
    (reply,) = sink.messages
    assert reply["To"].addresses[0].addr_spec == "jens@kommune.dk"
    assert folder_count(imap, "INBOX") == 0


@pytest.mark.parametrize("raw, limit", [
    (nested(1000), "too_deep"),
    (b"From: Jens <jens@kommune.dk>\r\nSubject: mange\r\nMessage-ID: <many@kommune.dk>\r\n"
     + b"X-Filler: x\r\n" * 100_000 + b"\r\nhej\r\n", "too_many_headers"),
    (b"From: Jens <jens@kommune.dk>\r\nSubject: lang\r\nMessage-ID: <long@kommune.dk>\r\nX-Long: "
     + b"y" * 200_000 + b"\r\n\r\nhej\r\n", "header_line_too_long"),
], ids=["nested 1,000 deep", "100,000 header lines", "a 200 KB header line"])
def test_a_structure_beyond_the_limits_is_quarantined_with_its_reason_and_the_sender_answered(intake, imap, smtp,
                                                                                             raw, limit):
    sink, _ = smtp
    imap.append("INBOX", raw, msg_time=MORNING)
    report = intake.poll_once()
    assert report.errors == 0
    (row,) = rows(intake)
    assert (row.state, row.outcome) == ("processed", "quarantined")
    assert row.reason.code == "quarantined" and row.reason.params["limit"] == limit
    assert row.moved_to == "Quarantine" and folder_count(imap, "Quarantine") == 1
    assert folder_count(imap, "INBOX") == 0
    (reply,) = sink.messages
    assert reply["To"].addresses[0].addr_spec == "jens@kommune.dk"
    assert "Vi kunne ikke læse jeres e-mail" in reply["Subject"]
    with intake.db.session() as session:
        assert messages_by_state(session)["quarantined"] == 1


def test_an_auto_reply_beyond_the_limits_is_quarantined_without_an_answer(intake, imap, smtp):
    sink, _ = smtp
    raw = nested(1000).replace(b"Subject: dyb\r\n", b"Subject: dyb\r\nAuto-Submitted: auto-replied\r\n")
    imap.append("INBOX", raw, msg_time=MORNING)
    intake.poll_once()
    (row,) = rows(intake)
    assert row.outcome == "quarantined" and not row.reason.answered
    assert sink.messages == []


def _variant(message_id: str, municipality: str, received: str) -> bytes:
    message = application_email(complete_values(municipality=municipality), message_id=message_id,
                                sender=f"Kontakt <kontakt@{municipality.lower()}.dk>")
    return f"Received: from {received} by mx.example; Mon, 2 Sep 2019 10:00:00 +0000\r\n".encode() + to_bytes(message)


def test_the_same_message_id_with_other_content_is_a_new_application_and_staff_see_the_collision(intake, imap,
                                                                                                  smtp):
    sink, _ = smtp
    imap.append("INBOX", _variant("<reused@gateway.example>", "Aarhus", "a"), msg_time=MORNING)
    imap.append("INBOX", _variant("<reused@gateway.example>", "Odense", "b"), msg_time=MORNING)
    intake.poll_once()
    first, second = rows(intake)
    assert (first.outcome, second.outcome) == ("application", "application")
    assert second.id_collision_of_id == first.id and first.duplicate_of_id is None
    with intake.db.session() as session:
        assert sorted(a.municipality for a in session.scalars(select(Application))) == ["Aarhus Kommune",
                                                                                         "Odense Kommune"]
    assert len(sink.messages) == 2  # both senders answered


def test_a_redelivery_with_other_transport_headers_is_a_duplicate_not_a_second_application(intake, imap, smtp):
    sink, _ = smtp
    message = to_bytes(application_email(complete_values(), message_id="<twice@aarhus.dk>"))
    imap.append("INBOX", b"Received: from relay-1\r\nDelivered-To: uip-imp2@x\r\n" + message, msg_time=MORNING)
    imap.append("INBOX", b"Received: from relay-2\r\nReceived: from relay-3\r\n" + message, msg_time=MORNING)
    intake.poll_once()
    first, second = rows(intake)
    assert (first.outcome, second.outcome) == ("application", "duplicate")
    assert second.duplicate_of_id == first.id and first.content_digest == second.content_digest
    assert len(sink.messages) == 1


def _failing_parser(data: bytes, filename: str, options: object) -> object:
    raise RuntimeError("parser bug for this file")


def test_a_message_that_fails_every_attempt_is_parked_moved_to_quarantine_and_its_sender_told(settings, imap, smtp):
    sink, _ = smtp
    intake = Intake(settings, Database(settings.database.url), Archive(settings.storage.archive_dir),
                    make_transport(settings.smtp), reader=InlineReader(_failing_parser))
    intake.db.migrate()
    try:
        imap.append("INBOX", to_bytes(application_email(complete_values(), message_id="<bug@aarhus.dk>")),
                    msg_time=MORNING)
        for attempt in range(1, MAX_ATTEMPTS):
            report = intake.poll_once()
            (row,) = rows(intake)
            assert (row.state, row.attempts, report.errors) == ("error", attempt, 1)
            assert folder_count(imap, "INBOX") == 1 and sink.messages == []  # still in the inbox, visible
        report = intake.poll_once()
        (row,) = rows(intake)
        assert (row.state, row.outcome, report.parked) == ("parked", "quarantined", 1)
        assert "RuntimeError: parser bug" in row.error
        assert folder_count(imap, "INBOX") == 0 and folder_count(imap, "Quarantine") == 1
        (reply,) = sink.messages
        assert reply["To"].addresses[0].addr_spec == "mette.jensen@aarhus.dk"
        with intake.db.session() as session:
            assert messages_by_state(session)["parked"] == 1
        intake.poll_once()  # never looped on again
        assert len(rows(intake)) == 1 and len(sink.messages) == 1
        # staff retry it after a fix: it is run again from the archive
        with intake.db.session() as session:
            parked = session.get(InboundMessage, row.id)
            parked.state, parked.attempts = "error", 0
        intake.reader = InlineReader()
        intake.poll_once()
        (row,) = rows(intake)
        assert (row.state, row.outcome) == ("processed", "application")
    finally:
        intake.close()


def test_an_archive_that_cannot_be_written_stops_the_poll_and_loses_nothing(settings, imap, smtp, tmp_path):
    sink, _ = smtp
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the archive should be")  # root ignores permissions; this it cannot ignore
    settings.storage.archive_dir = blocked
    intake = Intake.from_settings(settings)
    intake.db.migrate()
    try:
        imap.append("INBOX", to_bytes(application_email(complete_values(), message_id="<arch@aarhus.dk>")),
                    msg_time=MORNING)
        with pytest.raises(ArchiveUnavailable):
            intake.poll_once()
        assert rows(intake) == [] and folder_count(imap, "INBOX") == 1 and sink.messages == []
        with intake.db.session() as session:
            assert "ArchiveUnavailable" in service_status(session).last_error
        blocked.unlink()
        intake.poll_once()
        (row,) = rows(intake)
        assert (row.outcome, row.attempts) == ("application", 0)  # the outage was charged to no message
        assert len(sink.messages) == 1
    finally:
        intake.close()


def test_a_full_disk_during_the_archive_write_stops_the_poll_and_loses_nothing(intake, imap, smtp, monkeypatch):
    sink, _ = smtp
    imap.append("INBOX", to_bytes(application_email(complete_values(), message_id="<full@aarhus.dk>")),
                msg_time=MORNING)

    def no_space(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(ArchiveUnavailable):
        intake.poll_once()
    assert rows(intake) == [] and folder_count(imap, "INBOX") == 1
    monkeypatch.undo()
    intake.poll_once()
    assert [r.outcome for r in rows(intake)] == ["application"] and len(sink.messages) == 1


def test_every_reply_row_of_a_poll_is_committed_with_its_outcome(intake, imap, smtp):
    """The outcome and its reply land together: no processed message that should be answered lacks a reply."""
    for n in range(3):
        imap.append("INBOX", to_bytes(application_email(complete_values(), message_id=f"<r{n}@aarhus.dk>")),
                    msg_time=MORNING)
    intake.poll_once()
    with intake.db.session() as session:
        answered = {r.inbound_message_id for r in session.scalars(select(Reply))}
        assert answered == {m.id for m in session.scalars(select(InboundMessage))}
