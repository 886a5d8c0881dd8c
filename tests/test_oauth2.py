"""OAuth2 sign-in to the mailbox and the relay, against real servers: a private Dovecot whose ``oauth2`` passdb
asks a local identity provider (token introspection) whether a token is good, and aiosmtpd checking XOAUTH2 and
OAUTHBEARER against the same provider. Microsoft (MSAL: secret and certificate), Google (google-auth) and the
generic client-credentials grant; tokens that live seconds, a wrong secret, a token revoked under IDLE."""

from __future__ import annotations

import base64
import logging
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from identity_provider import TENANT, IdentityProvider
from imapclient import IMAPClient
from servers import Dovecot, SmtpSink, free_port, start_dovecot
from sqlalchemy import func, select

from config import Settings, load_settings
from ingest.demo import application_email, complete_values, to_bytes
from ingest.errors import MailboxError
from ingest.idle import IdleWatcher
from ingest.poller import Intake
from ingest.worker import run_worker
from notifications.oauth2 import forget_tokens
from storage import InboundMessage
from storage.staff import service_status

pytestmark = pytest.mark.servers
MORNING = datetime(2019, 9, 2, 8, 0, tzinfo=UTC)


class XOAuth2SmtpSink(SmtpSink):
    """The SMTP sink, signing in only with a token the identity provider says is active for that user; offers
    XOAUTH2 only (as Exchange Online does)."""

    def __init__(self, idp: IdentityProvider) -> None:
        super().__init__()
        self.idp = idp
        self.mechanisms: list[str] = []

    async def _check(self, server: object, args: list[str], mechanism: str) -> AuthResult:
        blob = args[1] if len(args) > 1 else (await server.challenge_auth(  # type: ignore[attr-defined]
            "", encode_to_b64=False)).decode()
        text = base64.b64decode(blob).decode()
        if mechanism == "OAUTHBEARER":  # n,a=USER,^Ahost=…^Aport=…^Aauth=Bearer TOKEN^A^A (RFC 7628)
            user = text.split(",")[1].removeprefix("a=")
        else:  # user=USER^Aauth=Bearer TOKEN^A^A
            user = text.split("\x01")[0].removeprefix("user=")
        token = next((p.removeprefix("auth=Bearer ") for p in text.split("\x01") if p.startswith("auth=")), "")
        self.mechanisms.append(mechanism)
        return AuthResult(success=bool(user) and self.idp.active_user(token) == user, handled=False, auth_data=user)

    async def auth_XOAUTH2(self, server: object, args: list[str]) -> AuthResult:
        return await self._check(server, args, "XOAUTH2")


class OAuthSmtpSink(XOAuth2SmtpSink):
    """Offers OAUTHBEARER (RFC 7628) as well."""

    async def auth_OAUTHBEARER(self, server: object, args: list[str]) -> AuthResult:
        return await self._check(server, args, "OAUTHBEARER")


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    folder = Path(tempfile.mkdtemp(prefix="uip-idp-"))
    provider = IdentityProvider(mailbox="uip-imp2").start(folder)
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def oauth_dovecot(idp: IdentityProvider) -> Iterator[Dovecot]:
    server = start_dovecot(introspection_url=idp.introspection_url)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def oauth_smtp(idp: IdentityProvider) -> Iterator[tuple[OAuthSmtpSink, int]]:
    sink, port = OAuthSmtpSink(idp), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, auth_required=True, auth_require_tls=False)
    controller.start()
    yield sink, port
    controller.stop()


@pytest.fixture()
def mailbox_user(idp: IdentityProvider, mail_user: str) -> str:
    """A fresh mailbox per test; the app is granted that one mailbox (as RBAC for Applications does)."""
    idp.mailbox, idp.lifetime = mail_user, 3600.0
    idp.requests.clear()
    forget_tokens()  # one process here runs many configurations; the service runs one
    return mail_user


def oauth_settings(tmp_path: Path, idp: IdentityProvider, dovecot: Dovecot, smtp_port: int, user: str, db_url: str,
                   **oauth2: object) -> Settings:
    return load_settings(None, **{
        "mailbox": {"protocol": "imap", "host": "127.0.0.1", "port": dovecot.port, "security": "none",
                    "auth": "oauth2", "username": user, "timeout_seconds": 20, "idle": False},
        "smtp": {"transport": "smtp", "host": "127.0.0.1", "port": smtp_port, "security": "none",
                 "auth": "oauth2", "username": user, "sender": "Socialstyrelsen <uip-imp2@socialstyrelsen.dk>"},
        "oauth2": {"provider": "microsoft", "tenant": TENANT, "client_id": idp.client_id,
                   "client_secret": idp.client_secret, "token_url": idp.microsoft_token_url,
                   "ca_file": str(idp.ca_file), **oauth2},
        "database": {"url": db_url},
        "storage": {"archive_dir": str(tmp_path / "archive")},
        "parsing": {"isolate": False},
    })


def deliver(idp: IdentityProvider, dovecot: Dovecot, user: str, *messages: bytes) -> None:
    client = IMAPClient("127.0.0.1", port=dovecot.port, ssl=False, timeout=20)
    client.oauth2_login(user, idp.issue(user)["access_token"])
    for raw in messages:
        client.append("INBOX", raw, msg_time=MORNING)
    client.logout()


def email(n: int = 0) -> bytes:
    return to_bytes(application_email(complete_values(), message_id=f"<oauth-{n}-{time.time_ns()}@aarhus.dk>"))


def processed(intake: Intake) -> int:
    with intake.db.session() as session:
        return session.scalar(select(func.count(InboundMessage.id)).where(InboundMessage.state == "processed"))


@pytest.mark.parametrize("credential", ["microsoft-secret", "microsoft-certificate", "google", "generic"])
def test_each_provider_signs_in_to_imap_and_smtp_with_one_cached_token(tmp_path, idp, oauth_dovecot, oauth_smtp,
                                                                      mailbox_user, db_url, credential):
    sink, smtp_port = oauth_smtp
    sink.clear()
    sink.mechanisms.clear()
    extra: dict[str, object] = {
        "microsoft-secret": {},
        "microsoft-certificate": {"client_secret": "", "certificate_file": str(idp.certificate_file)},
        "google": {"provider": "google", "service_account_file": str(idp.service_account_file), "token_url": ""},
        "generic": {"provider": "generic", "token_url": f"{idp.base}/token"},
    }[credential]
    settings = oauth_settings(tmp_path, idp, oauth_dovecot, smtp_port, mailbox_user, db_url, **extra)
    deliver(idp, oauth_dovecot, mailbox_user, email())
    intake = Intake.from_settings(settings)
    intake.db.migrate()
    try:
        report = intake.poll_once()
    finally:
        intake.close()
    assert (report.processed, report.outbox.sent if report.outbox else 0) == (1, 1)
    assert len(sink.messages) == 1 and sink.mechanisms == ["OAUTHBEARER"]  # the standard one, where offered
    assert idp.requests == [credential]  # one token, for IMAP and SMTP both: cached, not fetched per use


def test_a_wrong_secret_fails_the_poll_with_the_providers_error_and_never_shows_the_secret(
        tmp_path, idp, oauth_dovecot, oauth_smtp, mailbox_user, db_url, caplog):
    settings = oauth_settings(tmp_path, idp, oauth_dovecot, oauth_smtp[1], mailbox_user, db_url,
                              client_secret="not-the-secret-Zq81")
    deliver(idp, oauth_dovecot, mailbox_user, email())
    intake = Intake.from_settings(settings)
    intake.db.migrate()
    caplog.set_level(logging.DEBUG)
    try:
        with pytest.raises(MailboxError) as refused:
            intake.poll_once()
        with intake.db.session() as session:
            recorded = service_status(session).last_error
    finally:
        intake.close()
    message = str(refused.value)
    assert "invalid_client: AADSTS7000215: Invalid client secret provided" in message
    assert "AADSTS7000215" in recorded
    for text in (message, recorded, caplog.text):
        assert "not-the-secret-Zq81" not in text and idp.client_secret not in text and "tok-" not in text


def test_tokens_that_live_seconds_are_renewed_by_a_running_worker_without_missing_mail(
        tmp_path, idp, oauth_dovecot, oauth_smtp, mailbox_user, db_url):
    sink, smtp_port = oauth_smtp
    sink.clear()
    idp.lifetime = 3.0
    settings = oauth_settings(tmp_path, idp, oauth_dovecot, smtp_port, mailbox_user, db_url)
    settings.mailbox.poll_seconds = 1
    settings.mailbox.idle = True
    intake = Intake.from_settings(settings)
    intake.db.migrate()
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(intake, stop), daemon=True)
    worker.start()
    try:
        for n in range(3):
            deliver(idp, oauth_dovecot, mailbox_user, email(n))
            deadline = time.monotonic() + 20
            while processed(intake) < n + 1 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert processed(intake) == n + 1
            time.sleep(3.5)  # the token the worker holds has expired meanwhile
        deadline = time.monotonic() + 20
        while len(sink.messages) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop.set()
        worker.join(30)
    assert len(sink.messages) == 3
    assert len(idp.requests) >= 3  # a new token for each round, fetched by the worker itself


def test_a_token_revoked_while_idle_waits_is_replaced_at_the_reconnect(tmp_path, idp, oauth_dovecot, oauth_smtp,
                                                                        mailbox_user, db_url):
    settings = oauth_settings(tmp_path, idp, oauth_dovecot, oauth_smtp[1], mailbox_user, db_url)
    wakes: list[float] = []
    stop = threading.Event()
    watcher = IdleWatcher(settings.mailbox, lambda: wakes.append(time.monotonic()), stop)
    watcher.start()
    try:
        assert watcher.connected.wait(15)
        first = watcher.client
        idp.revoke_all()  # the cached token is no longer good
        assert first is not None
        first.shutdown()  # the server ends the session (as Exchange does when a token is revoked)
        deadline = time.monotonic() + 20
        while not (watcher.client is not first and watcher.connected.is_set()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert watcher.client is not first and watcher.connected.is_set()
        assert wakes, "the reconnect wakes a full poll"
        assert len(idp.requests) == 2  # the revoked token was dropped and a new one fetched
    finally:
        stop.set()
        watcher.join(30)


def test_where_only_xoauth2_is_offered_imap_and_smtp_sign_in_with_it(tmp_path, idp, mailbox_user, db_url):
    """Exchange Online offers XOAUTH2 and no OAUTHBEARER, for IMAP and for SMTP."""
    server = start_dovecot(extra="auth_mechanisms = xoauth2", introspection_url=idp.introspection_url)
    sink, port = XOAuth2SmtpSink(idp), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, auth_required=True, auth_require_tls=False)
    controller.start()
    try:
        client = IMAPClient("127.0.0.1", port=server.port, ssl=False, timeout=20)
        assert b"AUTH=XOAUTH2" in client.capabilities() and b"AUTH=OAUTHBEARER" not in client.capabilities()
        client.logout()
        settings = oauth_settings(tmp_path, idp, server, port, mailbox_user, db_url)
        deliver(idp, server, mailbox_user, email())
        intake = Intake.from_settings(settings)
        intake.db.migrate()
        try:
            report = intake.poll_once()
        finally:
            intake.close()
        assert report.processed == 1 and len(sink.messages) == 1 and sink.mechanisms == ["XOAUTH2"]
    finally:
        controller.stop()
        server.stop()
