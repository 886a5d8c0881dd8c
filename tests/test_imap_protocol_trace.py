"""imaplib's protocol trace, which imapclient switches on for every client: off unless an operator asks for it.

With the trace on, imaplib formats the ``repr`` of every FETCH literal (and of the whole FETCH answer again)
before the logger drops it: tens of MB of text per chunk of bodies. Real Dovecot, real FETCH.
"""

from __future__ import annotations

import logging
import uuid

import pytest
from imapclient import IMAPClient
from servers import Dovecot

from config import load_settings
from ingest.demo import sized_email
from ingest.mailbox import ImapMailbox, open_mailbox


def _mailbox_settings(dovecot: Dovecot, user: str):  # type: ignore[no-untyped-def]
    return load_settings(None, mailbox={
        "protocol": "imap", "host": "127.0.0.1", "port": dovecot.port, "security": "none",
        "username": user, "password": dovecot.password, "timeout_seconds": 20}).mailbox


@pytest.fixture()
def large_message_user(dovecot: Dovecot) -> tuple[str, int]:
    """A fresh user with one 3 MB email in INBOX, and its size."""
    user = f"trace-{uuid.uuid4().hex[:10]}"
    raw = sized_email(3_000_000)
    client = IMAPClient("127.0.0.1", port=dovecot.port, ssl=False, timeout=20)
    client.login(user, dovecot.password)
    client.append("INBOX", raw)
    client.logout()
    return user, len(raw)


def test_a_fetch_of_a_large_message_formats_no_protocol_trace_when_its_logger_is_not_at_debug(
        dovecot: Dovecot, large_message_user: tuple[str, int]) -> None:
    user, size = large_message_user
    with open_mailbox(_mailbox_settings(dovecot, user)) as mailbox:
        assert isinstance(mailbox, ImapMailbox)
        formatted: list[str] = []
        mailbox.client._imap._mesg = formatted.append  # what imaplib formats for its trace, if anything
        uid = mailbox.entries()[0].uid
        body = mailbox.fetch_many([uid])[uid]
    assert len(body) >= size - 100  # the whole message came (the server may fold line ends)
    assert formatted == []


def test_the_protocol_trace_still_reaches_its_logger_at_debug_with_the_password_redacted(
        dovecot: Dovecot, large_message_user: tuple[str, int], caplog: pytest.LogCaptureFixture) -> None:
    user, _ = large_message_user
    with caplog.at_level(logging.DEBUG, logger="imapclient.imaplib"), \
            open_mailbox(_mailbox_settings(dovecot, user)) as mailbox:
        mailbox.entries()
    trace = [record.getMessage() for record in caplog.records if record.name == "imapclient.imaplib"]
    assert any("RFC822.SIZE" in line for line in trace)  # the FETCH of sizes was traced
    assert any("LOGIN" in line for line in trace)
    assert not any(dovecot.password in line for line in trace)
