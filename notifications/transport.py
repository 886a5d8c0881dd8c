"""Where replies go: an SMTP relay, Microsoft Graph (``sendMail``), or a folder of .eml files (the embedded
default)."""

from __future__ import annotations

import base64
import contextlib
import os
import smtplib
import tempfile
from collections.abc import Sequence
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from config import SmtpSettings
from config.errors import UipIntakeError
from notifications.graph_client import GraphClient, GraphError
from notifications.oauth2 import TokenRefused, oauthbearer, tokens_for, xoauth2
from notifications.tls import client_context, describe

if TYPE_CHECKING:
    from _typeshed import SizedBuffer


class TransportError(UipIntakeError):
    """Sending failed; ``permanent`` when retrying cannot help (5xx for every recipient)."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Transport(Protocol):
    def send(self, message: EmailMessage) -> bytes:
        """Send ``message``; returns the bytes that were sent (the copy kept in the Sent folder)."""
        ...

    def close(self) -> None: ...


class SmtpTransport:
    """Sends over one connection for as many replies as there are (``close`` ends it): a reused connection
    the relay has dropped meanwhile is opened again, once, before anything of the message was sent."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._client: _Client | None = None

    def send(self, message: EmailMessage) -> bytes:
        s = self.settings
        try:
            try:
                client = self._connection()
                client.send_message(message)
            except smtplib.SMTPServerDisconnected:
                if self._client is None:
                    raise
                self._drop()  # the relay closed the idle connection: a fresh one, once
                client = self._connection()
                client.send_message(message)
            return client.last_sent
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

    def _connection(self) -> _Client:
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

    def connect(self) -> _Client:
        """A connection to the relay, TLS verified (STARTTLS required when chosen) and signed in."""
        s = self.settings
        context = client_context(s.ca_file)
        if s.security == "ssl":
            client: _Client = _SslClient(s.host, s.port, timeout=s.timeout_seconds, context=context)
        else:
            client = _Client(s.host, s.port, timeout=s.timeout_seconds)
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


class _Client(smtplib.SMTP):
    """``smtplib.SMTP`` keeping the bytes of the last message it sent: ``send_message`` flattens a message once
    (with SMTPUTF8 when an address needs it), and that copy, not a second rendering, goes to the Sent folder
    (flattening a reply costs as much as building it)."""

    last_sent: bytes = b""

    def sendmail(self, from_addr: str, to_addrs: str | Sequence[str], msg: SizedBuffer | str,
                 mail_options: Sequence[str] = (), rcpt_options: Sequence[str] = ()) -> dict[str, tuple[int, bytes]]:
        refused = super().sendmail(from_addr, to_addrs, msg, mail_options, rcpt_options)
        self.last_sent = msg.encode("utf-8") if isinstance(msg, str) else bytes(msg)
        return refused


class _SslClient(_Client, smtplib.SMTP_SSL):
    """The same, over implicit TLS (port 465)."""


class FileTransport:
    """Each reply becomes ``<outbox_dir>/<message-id>.eml``, written atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def close(self) -> None:
        """Nothing to close: each reply is its own file."""

    def send(self, message: EmailMessage) -> bytes:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = "".join(c if c.isalnum() or c in "-._" else "_" for c in message["Message-ID"].strip("<>"))
        data = message.as_bytes(policy=SMTP)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, self.directory / f"{name}.eml")
        return data


GRAPH_REQUEST_LIMIT = 4 * 1024 * 1024  # sendMail with MIME: the request body (base64) may be at most 4 MB


class GraphTransport:
    """Sends as the mailbox with Graph's ``sendMail``, the message given as MIME (base64, ``text/plain``), so
    every header we render — ``Auto-Submitted``, ``In-Reply-To``, ``References``, ``X-Auto-Response-Suppress`` —
    goes out exactly as rendered. Exchange keeps the copy in Sent Items itself. A message whose request would
    pass Graph's 4 MB limit is refused (it stays in the outbox with the reason), never cut short."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.client = GraphClient(settings.graph_url, settings.username, settings.oauth2, settings.ca_file,
                                  settings.timeout_seconds)

    def send(self, message: EmailMessage) -> bytes:
        data = message.as_bytes(policy=SMTP)
        body = base64.b64encode(data)
        if len(body) > GRAPH_REQUEST_LIMIT:
            raise TransportError(f"Graph sendMail: the reply is {len(body):,} bytes as sent, over Graph's limit of "
                                 f"{GRAPH_REQUEST_LIMIT:,} bytes; it is kept in the outbox, not cut short")
        try:
            self.client.request("POST", "/sendMail", data=body, headers={"Content-Type": "text/plain"})
        except GraphError as error:
            # a request Graph calls malformed will not be accepted later either; the rest may pass later
            raise TransportError(str(error), permanent=error.status == 400) from error
        return data

    def close(self) -> None:
        self.client.close()


def make_transport(settings: SmtpSettings) -> Transport:
    if settings.transport == "file":
        return FileTransport(settings.outbox_dir)
    return GraphTransport(settings) if settings.transport == "graph" else SmtpTransport(settings)
