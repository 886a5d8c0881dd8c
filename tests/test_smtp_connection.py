"""The outbox sends a run's replies over one SMTP connection to a real aiosmtpd, and a connection the relay
dropped between two replies is opened again without losing or doubling either."""

from __future__ import annotations

import socket
from email.message import EmailMessage

import pytest

from config import load_settings
from notifications.transport import SmtpTransport

pytestmark = pytest.mark.integration


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
