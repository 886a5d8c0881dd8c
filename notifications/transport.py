"""Where replies go: an SMTP relay, or a folder of .eml files (the embedded default)."""

from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Protocol

from config import SmtpSettings


class TransportError(Exception):
    """Sending failed; ``permanent`` when retrying cannot help (5xx for every recipient)."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class SmtpTransport:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def send(self, message: EmailMessage) -> None:
        s = self.settings
        try:
            if s.security == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds,
                                                        context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
            with client:
                if s.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if s.username:
                    client.login(s.username, s.password.get_secret_value())
                client.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise TransportError(f"recipient refused: {exc.recipients}", permanent=all(c >= 500 for c in codes)) \
                from exc
        except smtplib.SMTPResponseException as exc:
            raise TransportError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", permanent=exc.smtp_code >= 500) \
                from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc


class FileTransport:
    """Each reply becomes ``<outbox_dir>/<message-id>.eml``, written atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def send(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = "".join(c if c.isalnum() or c in "-._" else "_" for c in message["Message-ID"].strip("<>"))
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(message.as_bytes(policy=SMTP))
        os.replace(tmp, self.directory / f"{name}.eml")


def make_transport(settings: SmtpSettings) -> Transport:
    return FileTransport(settings.outbox_dir) if settings.transport == "file" else SmtpTransport(settings)
