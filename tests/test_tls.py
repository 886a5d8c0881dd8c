"""TLS done right, against a private Dovecot and aiosmtpd with certificates from a private CA (trustme):
certificates are verified by default, a private CA is trusted through ``ca_file``, a wrong host name or an
unknown CA is refused with a message saying what to do, and STARTTLS never falls back to plain text."""

from __future__ import annotations

import ssl
import tempfile
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
import trustme
from aiosmtpd.controller import Controller
from servers import Dovecot, SmtpSink, free_port, start_dovecot

from config import Settings, load_settings
from ingest.errors import MailboxError
from ingest.mailbox import open_mailbox
from notifications.transport import SmtpTransport, TransportError

pytestmark = pytest.mark.servers


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def pki(ca: trustme.CA) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="uip-pki-"))
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    for name, hosts in (("good", ("127.0.0.1", "localhost")), ("other", ("mail.other.example",))):
        cert = ca.issue_cert(*hosts)
        cert.cert_chain_pems[0].write_to_path(str(folder / f"{name}-cert.pem"))
        cert.private_key_pem.write_to_path(str(folder / f"{name}-key.pem"))
    yield folder


def _dovecot(pki: Path, name: str) -> Iterator[Dovecot]:
    server = start_dovecot(tls=(pki / f"{name}-cert.pem", pki / f"{name}-key.pem"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tls_dovecot(pki: Path) -> Iterator[Dovecot]:
    yield from _dovecot(pki, "good")


@pytest.fixture(scope="module")
def misnamed_dovecot(pki: Path) -> Iterator[Dovecot]:
    yield from _dovecot(pki, "other")


def mailbox_settings(server: Dovecot, security: str, ca_file: str = "", port: int | None = None) -> Settings:
    return load_settings(None, mailbox={
        "protocol": "imap", "host": "127.0.0.1", "port": port or (server.imaps_port if security == "ssl"
                                                                 else server.port),
        "security": security, "ca_file": ca_file, "username": "tls-user", "password": server.password,
        "timeout_seconds": 10})


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_a_certificate_from_the_private_ca_is_accepted(tls_dovecot, pki, security):
    settings = mailbox_settings(tls_dovecot, security, str(pki / "ca.pem"))
    with open_mailbox(settings.mailbox) as box:
        assert box.entries() == []


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_an_unknown_ca_is_refused_and_the_message_names_ca_file(tls_dovecot, security):
    settings = mailbox_settings(tls_dovecot, security)  # the system's CAs only
    with pytest.raises(MailboxError) as refused, open_mailbox(settings.mailbox):
        pass
    assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value) and "mailbox.ca_file" in str(refused.value)


def test_a_certificate_for_another_host_name_is_refused(misnamed_dovecot, pki):
    settings = mailbox_settings(misnamed_dovecot, "ssl", str(pki / "ca.pem"))
    with pytest.raises(MailboxError) as refused, open_mailbox(settings.mailbox):
        pass
    assert "not for this host name" in str(refused.value) and "mailbox.host" in str(refused.value)


def test_starttls_is_required_when_chosen_never_a_plain_text_fallback(dovecot):
    settings = mailbox_settings(dovecot, "starttls")  # this server offers no STARTTLS
    with pytest.raises(MailboxError) as refused, open_mailbox(settings.mailbox):
        pass
    assert "STARTTLS" in str(refused.value)


@pytest.fixture(scope="module")
def tls_smtp(pki: Path) -> Iterator[tuple[SmtpSink, int]]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki / "good-cert.pem", pki / "good-key.pem")
    sink, port = SmtpSink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True)
    controller.start()
    yield sink, port
    controller.stop()


def smtp_settings(port: int, ca_file: str = "") -> Settings:
    return load_settings(None, smtp={"transport": "smtp", "host": "127.0.0.1", "port": port,
                                     "security": "starttls", "ca_file": ca_file, "timeout_seconds": 10})


def reply() -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "uip-imp2@socialstyrelsen.dk", "a@b.dk", "Kvittering"
    message["Message-ID"] = "<tls@socialstyrelsen.dk>"
    message.set_content("Tak.")
    return message


def test_smtp_starttls_with_the_private_ca_delivers(tls_smtp, pki):
    sink, port = tls_smtp
    SmtpTransport(smtp_settings(port, str(pki / "ca.pem")).smtp).send(reply())
    assert len(sink.messages) == 1


def test_smtp_with_an_unknown_ca_is_refused_before_anything_is_sent(tls_smtp):
    sink, port = tls_smtp
    sink.clear()
    with pytest.raises(TransportError) as refused:
        SmtpTransport(smtp_settings(port).smtp).send(reply())
    assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value) and sink.messages == []


def test_smtp_starttls_is_required_when_chosen(smtp):
    _sink, port = smtp  # offers no STARTTLS
    with pytest.raises(TransportError) as refused:
        SmtpTransport(smtp_settings(port).smtp).send(reply())
    assert "STARTTLS" in str(refused.value)
