"""Settings that contradict each other: found before anything runs, named by their keys, with what to do.

``uip-intake check`` lists every finding; ``run`` and ``poll`` refuse to start on an error instead of guessing
(an IMAP host with ``protocol = "maildir"`` would poll the local demo folder for ever and report "0 seen").
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from config.settings import MailboxSettings, OAuth2Settings, Settings, SmtpSettings

LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


class Severity(StrEnum):
    ERROR = "error"  # the service would not do what the operator meant: refused
    WARNING = "warning"  # allowed, but worth a look


@dataclass(frozen=True)
class Finding:
    severity: Severity
    key: str  # the setting to change, e.g. "mailbox.protocol"
    message: str  # what is wrong and what to do


def _error(key: str, message: str) -> Finding:
    return Finding(Severity.ERROR, key, message)


def _warning(key: str, message: str) -> Finding:
    return Finding(Severity.WARNING, key, message)


def _loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _server_key_set(section: MailboxSettings | SmtpSettings) -> str | None:
    """The first setting that only a real server uses, when it is set (or None)."""
    for key, set_ in (("host", section.host != "localhost"), ("username", bool(section.username)),
                      ("auth", section.auth == "oauth2")):
        if set_:
            return key
    return None


def _connection(name: str, section: MailboxSettings | SmtpSettings, warning: str) -> list[Finding]:
    """What the mailbox and the relay share: plain text to a remote host, a CA file that is not there."""
    found = []
    if section.security == "none" and not _loopback(section.host):
        found.append(_warning(f"{name}.security", f'{name}.security = "none" {warning} {section.host} in plain '
                                                  'text: use "ssl" or "starttls".'))
    if section.ca_file and not Path(section.ca_file).is_file():
        found.append(_error(f"{name}.ca_file", f"{name}.ca_file {section.ca_file} does not exist."))
    return found


def _mailbox(mailbox: MailboxSettings) -> list[Finding]:
    found: list[Finding] = []
    if mailbox.protocol == "maildir":
        if (key := _server_key_set(mailbox)) is not None:
            found.append(_error("mailbox.protocol", f'mailbox.{key} is set but mailbox.protocol is '
                                f'"maildir": the service would read the local folder {mailbox.maildir_path} and '
                                'never the mail server. Set mailbox.protocol = "imap".'))
        return found
    if not mailbox.username:
        found.append(_error("mailbox.username", "mailbox.username is empty: name the mailbox to sign in to."))
    if mailbox.protocol == "graph":
        if mailbox.auth != "oauth2":
            found.append(_error("mailbox.auth", 'mailbox.protocol = "graph" signs in with the [oauth2] app only: '
                                                'set mailbox.auth = "oauth2".'))
        if not mailbox.graph_url.startswith("https://"):
            found.append(_error("mailbox.graph_url", f"mailbox.graph_url {mailbox.graph_url} is not https://: "
                                                     "the mailbox would be read in plain text."))
        return found + ([_error("mailbox.ca_file", f"mailbox.ca_file {mailbox.ca_file} does not exist.")]
                        if mailbox.ca_file and not Path(mailbox.ca_file).is_file() else [])
    if mailbox.auth == "password" and not mailbox.password.get_secret_value():
        found.append(_error("mailbox.password", 'mailbox.password (or mailbox.password_file) is empty; for Microsoft '
                                                '365 or Google Workspace set mailbox.auth = "oauth2".'))
    return found + _connection("mailbox", mailbox, "sends the sign-in to")


def _smtp(smtp: SmtpSettings) -> list[Finding]:
    found: list[Finding] = []
    if smtp.transport == "file":
        if (key := _server_key_set(smtp)) is not None:
            found.append(_error("smtp.transport", f'smtp.{key} is set but smtp.transport is "file": '
                                f"replies would be written to {smtp.outbox_dir} and never sent. "
                                'Set smtp.transport = "smtp".'))
        return found
    if smtp.transport == "graph":
        if not smtp.graph_url.startswith("https://"):
            found.append(_error("smtp.graph_url", f"smtp.graph_url {smtp.graph_url} is not https://: replies "
                                                  "would be sent in plain text."))
        return found
    if smtp.auth == "oauth2" and not smtp.username:
        found.append(_error("smtp.username", "smtp.username is empty: with OAuth2 it is the mailbox that sends."))
    if smtp.auth == "password" and smtp.username and not smtp.password.get_secret_value():
        found.append(_error("smtp.password", "smtp.username is set but smtp.password (or smtp.password_file) is "
                                             'empty; set smtp.auth = "none" for a relay that needs no sign-in.'))
    return found + _connection("smtp", smtp, "talks to")


def _oauth2(oauth2: OAuth2Settings, users: list[str]) -> list[Finding]:
    found: list[Finding] = []
    for key in ("certificate_file", "service_account_file", "ca_file"):
        path = getattr(oauth2, key)
        if path and not Path(path).is_file():
            found.append(_error(f"oauth2.{key}", f"oauth2.{key} {path} does not exist."))
    if oauth2.provider == "microsoft":
        if not oauth2.tenant and not oauth2.token_url:
            found.append(_error("oauth2.tenant", "oauth2.tenant is empty: the directory (tenant) id of the app "
                                                 "registration in Microsoft Entra."))
        if not oauth2.client_id:
            found.append(_error("oauth2.client_id", "oauth2.client_id is empty: the application (client) id."))
        if not oauth2.client_secret.get_secret_value() and not oauth2.certificate_file:
            found.append(_error("oauth2.client_secret", "neither oauth2.client_secret (or client_secret_file) nor "
                                                        "oauth2.certificate_file is set."))
    elif oauth2.provider == "google":
        if not oauth2.service_account_file:
            found.append(_error("oauth2.service_account_file", "oauth2.service_account_file is empty: the service "
                                                               "account's JSON key (domain-wide delegation)."))
    else:
        for key, value in (("token_url", oauth2.token_url), ("client_id", oauth2.client_id),
                           ("client_secret", oauth2.client_secret.get_secret_value())):
            if not value:
                found.append(_error(f"oauth2.{key}", f'oauth2.{key} is empty; provider "generic" needs token_url, '
                                                     "client_id and client_secret."))
    if oauth2.provider == "google" and len(set(users)) > 1:
        found.append(_warning("smtp.username", "mailbox.username and smtp.username differ: Google tokens are "
                                               "issued per mailbox, so two are fetched."))
    return found


def findings(settings: Settings, now: datetime | None = None) -> list[Finding]:
    """Every contradiction and doubtful choice in ``settings``, errors first."""
    found = _mailbox(settings.mailbox) + _smtp(settings.smtp)
    oauth_users = [s.username for s in (settings.mailbox, settings.smtp) if s.auth == "oauth2"]
    uses_oauth = (settings.mailbox.protocol in ("imap", "graph") and settings.mailbox.auth == "oauth2") or (
        settings.smtp.transport in ("smtp", "graph") and settings.smtp.auth == "oauth2")
    if uses_oauth:
        found += _oauth2(settings.oauth2, oauth_users)
    call = settings.call
    if call.open and call.deadline < (now or datetime.now(UTC)):
        found.append(_warning("call.deadline", f"the deadline {call.deadline:%Y-%m-%d %H:%M %Z} has passed while "
                                               "call.open is true: every application from now on is marked late. "
                                               "Set call.open = false to answer that the round is closed."))
    return sorted(found, key=lambda f: f.severity != Severity.ERROR)


def errors(settings: Settings) -> list[Finding]:
    return [f for f in findings(settings) if f.severity == Severity.ERROR]
