"""``uip-intake check``: the settings first, then every connection the service needs, one line each.

Nothing is sent and nothing is read from the mailbox: the checks sign in, look, and sign out. A mailbox
folder the service moves mail to may be created here (``create_folders``) instead of at the first move.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from imapclient.exceptions import IMAPClientError
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from config import Settings
from config.consistency import Severity, findings
from ingest.errors import MailboxError
from ingest.graph_mailbox import GraphMailbox, graph_client
from ingest.mailbox import connect_imap
from notifications.graph_client import PERMISSION_HINT, GraphClient
from notifications.oauth2 import TokenRefused, tokens_for
from notifications.tls import describe
from notifications.transport import SmtpTransport
from parsers.doc_converter import has_uno, uno_python
from storage import Database
from storage.database import alembic_config
from storage.decision_rule import drafted_rounds

LOW_DISK_BYTES = 500 * 1024 * 1024  # below this the archive fills up within days of a busy call
DISK_WARNING_BYTES = 5 * 1024**3


class Status(StrEnum):
    OK = "ok"
    WARNING = "warning"
    FAILED = "failed"


MARKS = {Status.OK: "✓", Status.WARNING: "!", Status.FAILED: "✗"}


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    detail: str
    fix: str = ""  # what to do, when something is to be done

    def line(self) -> str:
        return f"{MARKS[self.status]} {self.name}: {self.detail}" + (f" — {self.fix}" if self.fix else "")

    def as_dict(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}


FolderPrompt = Callable[[list[str]], bool]  # asked whether to create the missing folders


def check_settings(settings: Settings) -> list[CheckResult]:
    found = findings(settings)
    if not found:
        return [CheckResult("settings", Status.OK, "no contradictions")]
    return [CheckResult(f"settings {f.key}", Status.FAILED if f.severity == Severity.ERROR else Status.WARNING,
                        f.message) for f in found]


def check_database(settings: Settings) -> CheckResult:
    shown = make_url(settings.database.url).render_as_string(hide_password=True)
    db = Database(settings.database.url)
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = MigrationContext.configure(connection).get_current_revision()
        head = ScriptDirectory.from_config(alembic_config(db.engine)).get_current_head()
    except SQLAlchemyError as error:
        return CheckResult("database", Status.FAILED, f"{shown}: {type(error).__name__}: {error.args[0]!s:.300}",
                           "check database.url and that the server is up")
    finally:
        db.dispose()
    if current != head:
        return CheckResult("database", Status.WARNING, f"{shown}: schema at {current or 'none'}, newest {head}",
                           "run `uip-intake migrate` (every command also does it first)")
    return CheckResult("database", Status.OK, f"{shown}: schema current ({head})")


def check_oauth2(settings: Settings) -> CheckResult | None:
    users = [s.username for s, used in ((settings.mailbox, settings.mailbox.protocol == "imap"),
                                        (settings.smtp, settings.smtp.transport == "smtp")) if used
             and s.auth == "oauth2"]
    if not users:
        return None
    tokens = tokens_for(settings.oauth2, users[0])
    try:
        tokens.token()
    except TokenRefused as error:
        return CheckResult("oauth2 token", Status.FAILED, str(error),
                           "check oauth2.client_id, the secret or certificate, and the tenant")
    except OSError as error:
        return CheckResult("oauth2 token", Status.FAILED, f"{type(error).__name__}: {error}")
    return CheckResult("oauth2 token", Status.OK, f"a token from {settings.oauth2.provider} for {users[0]}")


def check_mailbox(settings: Settings, create_folders: bool | FolderPrompt) -> list[CheckResult]:
    mailbox = settings.mailbox
    if mailbox.protocol == "graph":
        return check_graph_mailbox(settings, create_folders)
    if mailbox.protocol == "maildir":
        path = Path(mailbox.maildir_path)
        return [_writable("mailbox (local Maildir)", path, "the embedded default; for the real mailbox set "
                          'mailbox.protocol = "imap"')]
    where = f"{mailbox.username}@{mailbox.host}:{mailbox.port} ({mailbox.security}, {mailbox.auth})"
    try:
        client = connect_imap(mailbox)
    except (IMAPClientError, OSError, TokenRefused) as error:
        return [CheckResult("mailbox sign-in", Status.FAILED, f"{where}: {describe(error, 'mailbox')}",
                            "check mailbox.host, port, security and the credentials")]
    results = [CheckResult("mailbox sign-in", Status.OK, where)]
    try:
        if not client.folder_exists(mailbox.folder):
            results.append(CheckResult("mailbox folders", Status.FAILED, f"{mailbox.folder} does not exist",
                                       "check mailbox.folder"))
            return results
        wanted = [mailbox.processed_folder, mailbox.rejected_folder, mailbox.quarantine_folder]
        if settings.smtp.sent_folder:
            wanted.append(settings.smtp.sent_folder)
        missing = [f for f in wanted if not client.folder_exists(f)]
        create = create_folders(missing) if callable(create_folders) and missing else create_folders is True
        if missing and create:
            for folder in missing:
                client.create_folder(folder)
            results.append(CheckResult("mailbox folders", Status.OK,
                                       f"{mailbox.folder}; created {', '.join(missing)}"))
        elif missing:
            results.append(CheckResult("mailbox folders", Status.WARNING, f"{', '.join(missing)} missing",
                                       "they are created at the first move; `uip-intake check --create-folders` "
                                       "creates them now"))
        else:
            results.append(CheckResult("mailbox folders", Status.OK, ", ".join([mailbox.folder, *wanted])))
    finally:
        with contextlib.suppress(IMAPClientError, OSError):
            client.logout()
    return results


def _wanted_folders(settings: Settings) -> list[str]:
    mailbox = settings.mailbox
    return [mailbox.processed_folder, mailbox.rejected_folder, mailbox.quarantine_folder,
            *([settings.smtp.sent_folder] if settings.smtp.sent_folder else [])]


def check_graph_mailbox(settings: Settings, create_folders: bool | FolderPrompt) -> list[CheckResult]:
    """Token, mailbox and its folders through Graph, reading only (folders made only when asked)."""
    mailbox = settings.mailbox
    where = f"{mailbox.username} via {mailbox.graph_url}"
    try:
        box = GraphMailbox(graph_client(mailbox), mailbox.folder)
        missing = [f for f in _wanted_folders(settings) if box.find_folder(f) is None]
        create = create_folders(missing) if callable(create_folders) and missing else create_folders is True
        if missing and create:
            for folder in missing:
                box.make_folder(folder)
    except MailboxError as error:
        return [CheckResult("mailbox (Microsoft Graph)", Status.FAILED, f"{where}: {error}",
                            "check the [oauth2] app, mailbox.username and the app's access to this mailbox")]
    results = [CheckResult("mailbox (Microsoft Graph)", Status.OK, f"{where}: {mailbox.folder} can be read")]
    if missing and create:
        results.append(CheckResult("mailbox folders", Status.OK, f"{mailbox.folder}; created {', '.join(missing)}"))
    elif missing:
        results.append(CheckResult("mailbox folders", Status.WARNING, f"{', '.join(missing)} missing",
                                   "they are created at the first move; `uip-intake check --create-folders` "
                                   "creates them now"))
    else:
        results.append(CheckResult("mailbox folders", Status.OK, ", ".join([mailbox.folder, *_wanted_folders(
            settings)])))
    return results


def check_graph_send(settings: Settings) -> CheckResult:
    """Whether the app may send as the mailbox, without sending: the token's application roles when it lists
    them (Mail.Send); roles granted through Exchange's RBAC for Applications are not in the token, and only
    sending would show them."""
    smtp = settings.smtp
    client = GraphClient(smtp.graph_url, smtp.username, smtp.oauth2, smtp.ca_file, smtp.timeout_seconds)
    try:
        roles = token_roles(client.tokens.token())
    except TokenRefused as error:
        return CheckResult("sending (Microsoft Graph)", Status.FAILED, str(error),
                           "check oauth2.client_id, the secret or certificate, and the tenant")
    where = f"as {smtp.username} via {smtp.graph_url}"
    if not roles or "Mail.Send" not in roles:
        shown = f"the token grants {', '.join(roles)}, not Mail.Send" if roles else \
            "the token lists no application permissions"
        return CheckResult("sending (Microsoft Graph)", Status.WARNING, f"{where}: {shown}; nothing was sent to "
                           "find out whether Exchange allows it", PERMISSION_HINT)
    return CheckResult("sending (Microsoft Graph)", Status.OK, f"{where}: Mail.Send granted, nothing sent")


def token_roles(token: str) -> list[str] | None:
    """The ``roles`` claim of a JWT access token (read, not verified: only to advise), or None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    roles = claims.get("roles") if isinstance(claims, dict) else None
    return [str(r) for r in roles] if isinstance(roles, list) else None


def check_smtp(settings: Settings) -> CheckResult:
    smtp = settings.smtp
    if smtp.transport == "graph":
        return check_graph_send(settings)
    if smtp.transport == "file":
        return _writable("replies (folder of .eml files)", Path(smtp.outbox_dir),
                         'the embedded default; to send them set smtp.transport = "smtp"')
    sign_in = smtp.auth if smtp.auth != "password" or smtp.username else "no sign-in"
    where = f"{smtp.host}:{smtp.port} ({smtp.security}, {sign_in})"
    try:
        client = SmtpTransport(smtp).connect()
        client.quit()
    except (OSError, TokenRefused) as error:
        return CheckResult("smtp", Status.FAILED, f"{where}: {describe(error, 'smtp')}",
                           "check smtp.host, port, security and the credentials")
    except Exception as error:  # smtplib's refusals (535, STARTTLS not offered …)
        return CheckResult("smtp", Status.FAILED, f"{where}: {type(error).__name__}: {error}",
                           "check smtp.security and the credentials")
    return CheckResult("smtp", Status.OK, f"{where}: signed in, nothing sent")


def check_libreoffice(settings: Settings) -> CheckResult:
    command = settings.parsing.libreoffice
    binary = shutil.which(command) if command else None
    if binary is None:
        return CheckResult("LibreOffice (.doc forms)", Status.WARNING,
                           f"{command or '(parsing.libreoffice is empty)'} not found: .doc forms are answered with a "
                           "request for .docx", "install libreoffice-writer-nogui (Debian) or set parsing.libreoffice")
    try:
        version = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=60,
                                 check=False).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as error:
        return CheckResult("LibreOffice (.doc forms)", Status.WARNING, f"{binary}: {type(error).__name__}")
    found = CheckResult("LibreOffice (.doc forms)", Status.OK, version.splitlines()[0] if version else binary)
    if not settings.parsing.warm_libreoffice:
        return found
    python = uno_python(settings.parsing.uno_python, binary)
    if not has_uno(python):
        return CheckResult("LibreOffice (.doc forms)", Status.WARNING,
                           f"{found.detail}; {python or settings.parsing.uno_python or 'no Python'} has no uno module: "
                           "each .doc starts a LibreOffice (about 1.5 s)",
                           "install python3-uno (Debian) or set parsing.uno_python")
    return CheckResult("LibreOffice (.doc forms)", Status.OK, f"{found.detail}; kept running over UNO ({python})")


def _writable(name: str, folder: Path, note: str = "") -> CheckResult:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".check-"):
            pass
    except OSError as error:
        return CheckResult(name, Status.FAILED, f"{folder}: {error.strerror or error}",
                           "make it writable for the service's user")
    return CheckResult(name, Status.OK, f"{folder} writable" + (f" ({note})" if note else ""))


def check_archive(settings: Settings) -> list[CheckResult]:
    folder = Path(settings.storage.archive_dir)
    result = _writable("archive", folder)
    if result.status != Status.OK:
        return [result]
    free = shutil.disk_usage(folder).free
    gigabytes = f"{free / 1024**3:.1f} GB free"
    if free < LOW_DISK_BYTES:
        disk = CheckResult("disk", Status.FAILED, f"{gigabytes} under {folder}", "free space or move the archive")
    elif free < DISK_WARNING_BYTES:
        disk = CheckResult("disk", Status.WARNING, f"{gigabytes} under {folder}", "10 MB emails add up: watch it")
    else:
        disk = CheckResult("disk", Status.OK, f"{gigabytes} under {folder}")
    return [result, disk]


def check_decision_letters(settings: Settings) -> CheckResult:
    """A decision letter must carry the guidance on appeal (forvaltningsloven § 25): warned about once a
    round's letters are drafted without ``call.appeal_text`` for the call's language."""
    language = settings.call.language
    key = f"call.appeal_text.{language}"
    if settings.call.appeal_text.get(language, "").strip():
        return CheckResult("decision letters", Status.OK, f"{key} is set: every letter gives the guidance on appeal")
    db = Database(settings.database.url)
    try:
        with db.session() as session:
            drafted = drafted_rounds(session)
    except SQLAlchemyError:
        drafted = []  # the database line says what is wrong with it
    finally:
        db.dispose()
    if not drafted:
        return CheckResult("decision letters", Status.OK, f"{key} is not set; no decision is drafted yet",
                           f"set {key} before a decision is approved")
    return CheckResult("decision letters", Status.WARNING, f"the letters of round {', '.join(drafted)} are "
                       f"drafted without guidance on appeal: {key} is not set",
                       f"set {key}; edit the drafted letters or send the proposal back to draft them anew")


def check_sender_authentication(settings: Settings) -> CheckResult:
    """Whether forged senders are told apart (the receiving server's Authentication-Results), and by whom."""
    mailbox = settings.mailbox
    trusted = ("Exchange Online's Authentication-Results (the topmost field)" if mailbox.authentication_results
               else f"Authentication-Results by {mailbox.trusted_authserv_id}" if mailbox.trusted_authserv_id
               else "")
    if trusted:
        return CheckResult("sender authentication", Status.OK,
                           f"{trusted}: mail it finds forged (dmarc=fail) is shown to staff, not answered")
    detail = "not read: every sender is answered as its From says, forged or not"
    if mailbox.protocol == "maildir":
        return CheckResult("sender authentication", Status.OK, detail)
    return CheckResult("sender authentication", Status.WARNING, detail,
                       fix="set mailbox.authentication_results = \"exchange_online\" for Microsoft 365, or "
                           "mailbox.trusted_authserv_id to the receiving server's authserv-id")


def run_checks(settings: Settings, create_folders: bool | FolderPrompt = False) -> list[CheckResult]:
    results = check_settings(settings)
    results.append(check_database(settings))
    results.append(check_sender_authentication(settings))
    results.append(check_decision_letters(settings))
    oauth = check_oauth2(settings)
    if oauth is not None:
        results.append(oauth)
    results += check_mailbox(settings, create_folders)
    results.append(check_smtp(settings))
    results.append(check_libreoffice(settings))
    results += check_archive(settings)
    return results
