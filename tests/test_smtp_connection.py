"""The outbox sends a run's replies over one SMTP connection to a real aiosmtpd, and a connection the relay
dropped between two replies is opened again without losing or doubling either."""

from __future__ import annotations

import socket
from email.message import EmailMessage

import pytest

from config import load_settings
from notifications.transport import SmtpTransport

pytestmark = pytest.mark.servers


def _message(n: int) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"] = "uip-imp2@socialstyrelsen.dk", f"kommune{n}@aarhus.dk"
    message["Subject"], message["Message-ID"] = f"svar {n}", f"<svar-{n}@socialstyrelsen.dk>"
    message.set_content("Tak.")
    return message


def _transport(port: int) -> SmtpTransport:
    settings = load_settings(None, smtp={"transport": "smtp", "host": "127.0.0.1", "port": port, "security": "none"})
    return SmtpTransport(settings.smtp)


def test_many_replies_travel_over_one_connection(smtp):
    sink, port = smtp
    transport = _transport(port)
    for n in range(5):
        transport.send(_message(n))
    transport.close()
    assert [m["Subject"] for m in sink.messages] == [f"svar {n}" for n in range(5)]
    assert sink.greetings == 1


def test_a_connection_dropped_between_replies_is_opened_again_and_nothing_is_lost_or_doubled(smtp):
    sink, port = smtp
    transport = _transport(port)
    transport.send(_message(1))
    assert transport._client is not None
    transport._client.sock.shutdown(socket.SHUT_RDWR)  # the relay (or a middlebox) dropped the idle connection
    transport.send(_message(2))
    transport.close()
    assert [m["Subject"] for m in sink.messages] == ["svar 1", "svar 2"] and sink.greetings == 2


def test_a_reply_is_rendered_once_and_the_bytes_sent_are_the_ones_returned_for_the_sent_folder(smtp, monkeypatch):
    """Rendering a reply costs as much as building it: the Sent folder's copy is the very bytes the relay
    took, not a second rendering; with an address that needs SMTPUTF8 too."""
    from email.generator import BytesGenerator

    sink, port = smtp
    rendered: list[str] = []
    flatten = BytesGenerator.flatten

    def counting(self: BytesGenerator, msg: EmailMessage, *args: object, **kwargs: object) -> None:
        if msg["Message-ID"] is not None:  # the message itself, not one of its parts
            rendered.append(msg["Message-ID"])
        flatten(self, msg, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(BytesGenerator, "flatten", counting)
    transport = _transport(port)
    plain, international = _message(1), _message(2)
    international.replace_header("To", "søren@århus.dk")
    sent = [transport.send(plain), transport.send(international)]
    transport.close()
    assert rendered == ["<svar-1@socialstyrelsen.dk>", "<svar-2@socialstyrelsen.dk>"]
    assert sent == sink.raw
    assert sink.envelopes[1][1] == ["søren@århus.dk"] and "søren@århus.dk".encode() in sent[1]
