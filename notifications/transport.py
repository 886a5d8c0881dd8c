"""Where replies go: an SMTP relay, or a folder of .eml files (the embedded default)."""

from __future__ import annotations

import contextlib
import os
import smtplib
import tempfile
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Protocol

from config import SmtpSettings
from config.errors import UipIntakeError
from notifications.oauth2 import TokenRefused, oauthbearer, tokens_for, xoauth2
from notifications.tls import client_context, describe


class TransportError(UipIntakeError):
    """Sending failed; ``permanent`` when retrying cannot help (5xx for every recipient)."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None: ...

    def close(self) -> None: ...


class SmtpTransport:
    """Sends over one connection for as many replies as there are (``close`` ends it): a reused connection
    the relay has dropped meanwhile is opened again, once, before anything of the message was sent."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._client: smtplib.SMTP | None = None

    def send(self, message: EmailMessage) -> None:
        s = self.settings
        try:
            try:
                self._connection().send_message(message)
            except smtplib.SMTPServerDisconnected:
                if self._client is None:
                    raise
                self._drop()  # the relay closed the idle connection: a fresh one, once
                self._connection().send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise TransportError(f"recipient refused: {exc.recipients}", permanent=all(c >= 500 for c in codes)) \
                from exc
        except smtplib.SMTPResponseException as exc:
            raise TransportError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", permanent=exc.smtp_code >= 500) \
                from exc
        except TokenRefused as exc:
            raise TransportError(f"SMTP {s.host}:{s.port}: {exc}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise TransportError(f"SMTP {s.host}:{s.port}: {describe(exc, 'smtp')}") from exc

    def _connection(self) -> smtplib.SMTP:
        if self._client is None:
            self._client = self.connect()
        return self._client

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                client.close()

    def close(self) -> None:
        """End the connection politely (QUIT)."""
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                client.quit()

    def connect(self) -> smtplib.SMTP:
        """A connection to the relay, TLS verified (STARTTLS required when chosen) and signed in."""
        s = self.settings
        context = client_context(s.ca_file)
        if s.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds, context=context)
        else:
            client = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
        try:
            if s.security == "starttls":
                client.starttls(context=context)  # SMTPNotSupportedError when not offered: never plain text
            if s.auth == "oauth2":
                self._oauth2_login(client)
            elif s.auth == "password" and s.username:
                client.login(s.username, s.password.get_secret_value())
        except BaseException:
            client.close()
            raise
        return client

    def _oauth2_login(self, client: smtplib.SMTP) -> None:
        s = self.settings
        tokens = tokens_for(s.oauth2, s.username)
        client.ehlo_or_helo_if_needed()
        offered = client.esmtp_features.get("auth", "").upper().split()
        mechanism = "OAUTHBEARER" if "OAUTHBEARER" in offered else "XOAUTH2"
        for attempt in (1, 2):
            token = tokens.token()
            response = (oauthbearer(s.username, token, s.host, s.port) if mechanism == "OAUTHBEARER"
                        else xoauth2(s.username, token))
            try:
                client.auth(mechanism, lambda challenge=None, text=response: text if challenge is None else "",
                            initial_response_ok=True)
                return
            except smtplib.SMTPAuthenticationError:
                tokens.invalidate(token)  # expired or revoked: the next attempt fetches a new token
                if attempt == 2:
                    raise


class FileTransport:
    """Each reply becomes ``<outbox_dir>/<message-id>.eml``, written atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def close(self) -> None:
        """Nothing to close: each reply is its own file."""

    def send(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = "".join(c if c.isalnum() or c in "-._" else "_" for c in message["Message-ID"].strip("<>"))
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(message.as_bytes(policy=SMTP))
        os.replace(tmp, self.directory / f"{name}.eml")


def make_transport(settings: SmtpSettings) -> Transport:
    return FileTransport(settings.outbox_dir) if settings.transport == "file" else SmtpTransport(settings)
