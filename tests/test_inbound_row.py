"""A new message's row, made from its headers before the poll writes it (``ingest.inbound_row``)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from ingest import inbound_row
from ingest.demo import application_email, complete_values, to_bytes
from ingest.inbound_row import row_for
from ingest.mailbox import MailboxEntry
from ingest.message_reading import content_digest, read_headers
from storage.states import MessageState

PLACE = ("INBOX", "1700000000")
WHEN = datetime(2019, 9, 2, 8, 15, tzinfo=UTC)


def _message() -> bytes:
    return to_bytes(application_email(complete_values(), sender="Lone Hansen <lone@aarhus.dk>",
                                      message_id="<row-1@aarhus.dk>"))


def test_a_new_messages_row_holds_its_sender_subject_message_id_and_digests_and_is_not_yet_written():
    raw = _message()
    digest = hashlib.sha256(raw).hexdigest()
    row = row_for(PLACE, MailboxEntry("7", len(raw), WHEN), raw, digest, False, read_headers(raw))
    assert (row.folder, row.uidvalidity, row.uid, row.size, row.received_at) == ("INBOX", "1700000000", "7",
                                                                                  len(raw), WHEN)
    assert (row.sender, row.sender_name, row.message_id) == ("lone@aarhus.dk", "Lone Hansen", "<row-1@aarhus.dk>")
    assert row.dedupe_key == "<row-1@aarhus.dk>" and row.content_digest == content_digest(raw)
    assert row.raw_sha256 == digest and row.state == MessageState.RECEIVED and row.id is None


def test_headers_that_cannot_be_read_give_a_row_in_the_error_state_that_says_why(monkeypatch, caplog):
    def unreadable(raw: bytes, headers_only: bool = False) -> str:
        raise ValueError("a header the digest chokes on")

    monkeypatch.setattr(inbound_row, "content_digest", unreadable)
    raw = _message()
    with caplog.at_level("ERROR", logger="ingest.poller"):
        row = row_for(PLACE, MailboxEntry("8", len(raw), WHEN), raw, "ab" * 32, False, read_headers(raw))
    assert row.state == MessageState.ERROR and row.uid == "8" and row.dedupe_key == "sha256:" + "ab" * 32
    assert row.error == "headers unreadable: ValueError: a header the digest chokes on"
    assert "uid 8: headers unreadable" in caplog.text


@pytest.mark.parametrize("headers_only", [False, True])
def test_an_oversized_messages_row_is_known_again_by_its_headers_alone(headers_only):
    raw = _message().replace(b"Message-ID: <row-1@aarhus.dk>\r\n", b"", 1)
    row = row_for(PLACE, MailboxEntry("9", len(raw), WHEN), raw, "cd" * 32, headers_only, read_headers(raw))
    assert row.message_id is None and row.headers_only is headers_only
    assert row.dedupe_key == "sha256:" + content_digest(raw, headers_only=headers_only)
