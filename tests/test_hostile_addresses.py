"""Addresses are read once, from the header's own syntax, never from the decoded display text a sender
controls: an encoded word that decodes to CR/LF and "Bcc: …", a comma, a group or angle brackets cannot
redirect a reply. Property-tested on the parser, and end to end against Dovecot and aiosmtpd (the RCPT)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from ingest.demo import application_email, complete_values, to_bytes
from ingest.mime import address_of, parse_message, reply_address
from storage import InboundMessage

ON_TIME = datetime(2019, 9, 2, 9, 0, tzinfo=UTC)
REAL = "ole.berg@aarhus.dk"
HOSTILE = "=?utf-8?q?Ole=0D=0ABcc:_attacker@evil.example?="


def _encoded_word(text: str, encoding: str) -> str:
    data = text.encode("utf-8")
    if encoding == "b":
        return f"=?utf-8?b?{base64.b64encode(data).decode()}?="
    quoted = "".join(chr(b) if chr(b).isalnum() else f"={b:02X}" for b in data)
    return f"=?utf-8?q?{quoted}?="


_PIECES = [*"\r\n:;<>,\"'@ ()[]\\", *"abcOle", "æø", "evil.example", "x@evil.example", "Bcc: ", "To: ",
           "\r\nBcc: y@evil.example", "=?", "?="]
display_texts = st.lists(st.sampled_from(_PIECES), min_size=1, max_size=12).map("".join)


@settings(max_examples=400, deadline=None)
@given(display=display_texts, encoding=st.sampled_from(["q", "b"]), field=st.sampled_from(["From", "Reply-To"]))
def test_a_reply_goes_to_the_headers_own_address_or_nowhere_whatever_the_display_name_decodes_to(
        display, encoding, field):
    raw = (f"{field}: {_encoded_word(display, encoding)} <{REAL}>\r\n"
           f"{'From: sag@kommune.dk' if field == 'Reply-To' else 'Subject: x'}\r\n\r\nbody\r\n").encode()
    message = parse_message(raw)
    assert reply_address(message) in (REAL, "")
    shown, address = address_of(message, field)
    assert address in (REAL, "") and "\r" not in shown and "\n" not in shown


@pytest.mark.parametrize("field", ["From", "Reply-To", "Sender"])
def test_a_display_name_decoding_to_a_header_line_keeps_the_real_address_and_shows_the_name_cleaned(field):
    message = parse_message(f"{field}: {HOSTILE} <{REAL}>\r\nSubject: x\r\n\r\nbody\r\n".encode())
    shown, address = address_of(message, field)
    assert address == REAL and shown == "Ole Bcc: attacker@evil.example"


def test_a_field_naming_no_plain_address_is_no_reply_target():
    for value in ("Ole", "<>", "=?utf-8?q?x@evil.example?=", "Ole <@evil.example>"):
        message = parse_message(f"From: {value}\r\nSubject: x\r\n\r\nbody\r\n".encode())
        assert reply_address(message) == "", value


@pytest.mark.servers
def test_an_application_with_a_hostile_reply_to_is_answered_at_its_real_address_only(intake, imap, smtp):
    sink, _ = smtp
    raw = to_bytes(application_email(complete_values(), sender="Sagsbehandler <sag@aarhus.dk>",
                                     message_id="<hostile-reply-to@aarhus.dk>"))
    raw = raw.replace(b"Subject:", f"Reply-To: {HOSTILE} <{REAL}>\r\nSubject:".encode(), 1)
    imap.append("INBOX", raw, msg_time=ON_TIME)
    intake.poll_once()
    assert [tos for _, tos in sink.envelopes] == [[REAL]]
    with intake.db.session() as session:
        [row] = session.scalars(select(InboundMessage)).all()
        assert row.reply_address == REAL and row.state == "processed"
