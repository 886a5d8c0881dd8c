"""The mailbox the worker polls: IMAP (imapclient) in production, a local Maildir as the embedded default.

Both expose the same small interface; ``open_mailbox`` is the factory tests may replace.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import mailbox as stdlib_mailbox
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import ParamSpec, Protocol, TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from imapclient.imapclient import SocketTimeout

from config import MailboxSettings
from ingest.errors import MailboxError
from ingest.graph_mailbox import GraphMailbox, graph_client
from ingest.mailbox_entry import MailboxEntry
from notifications.oauth2 import TokenRefused, tokens_for
from notifications.tls import client_context, describe

log = logging.getLogger(__name__)
FETCH_CHUNK = 500
P = ParamSpec("P")
T = TypeVar("T")


class Mailbox(Protocol):
    folder: str
    uidvalidity: str

    def entries(self) -> list[MailboxEntry]: ...
    def fetch_header(self, uid: str) -> bytes | None: ...
    def fetch_many(self, uids: list[str]) -> dict[str, bytes]: ...  # those still there, by uid
    def move_many(self, uids: list[str], folder: str) -> None: ...
    def append(self, folder: str, raw: bytes) -> None: ...


def _outage(method: Callable[P, T]) -> Callable[P, T]:
    """The server or the connection failed (not the message): a MailboxError, so the poll stops and no
    message is charged an attempt."""

    @functools.wraps(method)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(*args, **kwargs)
        except (IMAPClientError, OSError) as exc:
            raise MailboxError(f"IMAP: {type(exc).__name__}: {exc}") from exc

    return wrapped


class ImapMailbox:
    def __init__(self, client: IMAPClient, folder: str) -> None:
        self.client = client
        self.folder = folder
        selected = client.select_folder(folder)
        self.uidvalidity = str(selected[b"UIDVALIDITY"])
        self._can_move = client.has_capability("MOVE")
        self._known_folders: set[str] = set()

    @_outage
    def entries(self) -> list[MailboxEntry]:
        uids = self.client.search(["NOT", "DELETED"])
        found: list[MailboxEntry] = []
        for start in range(0, len(uids), FETCH_CHUNK):
            chunk = uids[start:start + FETCH_CHUNK]
            for uid, data in self.client.fetch(chunk, ["RFC822.SIZE", "INTERNALDATE"]).items():
                when = data[b"INTERNALDATE"]
                # imapclient gives local naive time unless normalise_times=False: we set it False
                found.append(MailboxEntry(str(uid), int(data[b"RFC822.SIZE"]),
                                          when if when.tzinfo else when.replace(tzinfo=UTC)))
        return sorted(found, key=lambda e: int(e.uid))

    @_outage
    def fetch_header(self, uid: str) -> bytes | None:
        data = self.client.fetch([int(uid)], ["BODY.PEEK[HEADER]"]).get(int(uid))
        return None if data is None else data.get(b"BODY[HEADER]")

    @_outage
    def fetch_many(self, uids: list[str]) -> dict[str, bytes]:
        """The whole messages, in one FETCH per ``FETCH_CHUNK`` (one round trip, not one per message); a
        message gone meanwhile is simply not in the answer."""
        found: dict[str, bytes] = {}
        for start in range(0, len(uids), FETCH_CHUNK):
            answer = self.client.fetch([int(uid) for uid in uids[start:start + FETCH_CHUNK]], ["BODY.PEEK[]"])
            for uid, data in answer.items():
                if b"BODY[]" in data:
                    found[str(uid)] = data[b"BODY[]"]
        return found

    def _ensure_folder(self, folder: str) -> None:
        if folder in self._known_folders:
            return
        if not self.client.folder_exists(folder):
            try:
                self.client.create_folder(folder)
            except IMAPClientError:
                # another worker on this mailbox made it between our LIST and our CREATE ([ALREADYEXISTS])
                if not self.client.folder_exists(folder):
                    raise
        self._known_folders.add(folder)

    @_outage
    def move_many(self, uids: list[str], folder: str) -> None:
        """Move messages in one command (MOVE, or COPY + \\Deleted + UID EXPUNGE of just these); one already
        gone (another worker or a person moved it) is not an error."""
        if not uids:
            return
        self._ensure_folder(folder)
        numbers = [int(uid) for uid in uids]
        try:
            if self._can_move:
                self.client.move(numbers, folder)
                return
            self.client.copy(numbers, folder)
            self.client.add_flags(numbers, [b"\\Deleted"], silent=True)
            self.client.expunge(numbers)  # UID EXPUNGE: only these, never other clients' \Deleted
        except IMAPClientError as error:
            if self.client.search(["UID", ",".join(uids)]):
                raise
            log.info("uids %s were already gone from %s (%s)", ",".join(uids), self.folder, error)

    @_outage
    def append(self, folder: str, raw: bytes) -> None:
        """Store a message we sent (the Sent folder), marked as read."""
        self._ensure_folder(folder)
        self.client.append(folder, raw, flags=[b"\\Seen"])


class MaildirMailbox:
    """A local Maildir; sub-folders are Maildir++ folders (``.Processed``)."""

    def __init__(self, path: Path, folder: str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.box = stdlib_mailbox.Maildir(self.path, create=True)
        self.folder = folder
        # the folder's identity; a digest of its path, because a path can outgrow the column (64 characters)
        self.uidvalidity = "maildir:" + hashlib.sha256(str(self.path.resolve()).encode()).hexdigest()[:32]

    def entries(self) -> list[MailboxEntry]:
        found = []
        for key in self.box.keys():  # noqa: SIM118 - iterating a Maildir yields messages, not keys
            try:
                stat = os.stat(self.path / self.box._lookup(key))  # type: ignore[attr-defined]  # the file's path
            except (KeyError, FileNotFoundError):
                continue
            found.append(MailboxEntry(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC)))
        return sorted(found, key=lambda e: (e.received_at, e.uid))

    def fetch_header(self, uid: str) -> bytes | None:
        data = self.fetch(uid)
        return None if data is None else data.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0] + b"\n\n"

    def fetch(self, uid: str) -> bytes | None:
        try:
            return self.box.get_bytes(uid)
        except KeyError:
            return None

    def fetch_many(self, uids: list[str]) -> dict[str, bytes]:
        return {uid: data for uid in uids if (data := self.fetch(uid)) is not None}

    def move_many(self, uids: list[str], folder: str) -> None:
        for uid in uids:
            self.move(uid, folder)

    def move(self, uid: str, folder: str) -> None:
        try:
            target = self.box.get_folder(folder)
        except stdlib_mailbox.NoSuchMailboxError:
            target = self.box.add_folder(folder)
        try:
            raw = self.box.get_bytes(uid)  # the bytes, never parsed again (a hostile nesting would not parse)
        except KeyError:
            return
        target.add(raw)
        self.box.discard(uid)

    def append(self, folder: str, raw: bytes) -> None:
        try:
            target = self.box.get_folder(folder)
        except stdlib_mailbox.NoSuchMailboxError:
            target = self.box.add_folder(folder)
        target.add(raw)


def connect_imap(settings: MailboxSettings, read_timeout: float | None = None) -> IMAPClient:
    """A logged-in IMAP client with timeouts on connect and on every read (never a hang on a dead peer).

    TLS is verified; with ``security = "starttls"`` a server that does not offer STARTTLS is refused, never
    used in plain text. With ``auth = "oauth2"`` it signs in with OAUTHBEARER where the server offers it,
    else XOAUTH2; a token the server refuses is dropped and a new one tried once.
    """
    timeout = SocketTimeout(connect=settings.timeout_seconds, read=read_timeout or settings.timeout_seconds)
    context = client_context(settings.ca_file) if settings.security != "none" else None
    client = IMAPClient(settings.host, port=settings.port, ssl=settings.security == "ssl", ssl_context=context,
                        timeout=timeout, use_uid=True)
    client.normalise_times = False
    _quiet_protocol_trace(client)
    try:
        if settings.security == "starttls":
            client.starttls(context)  # raises when the server offers no STARTTLS
        if settings.auth == "oauth2":
            _oauth2_login(client, settings)
        else:
            client.login(settings.username, settings.password.get_secret_value())
    except BaseException:
        with contextlib.suppress(OSError):
            client.shutdown()
        raise
    return client


def _quiet_protocol_trace(client: IMAPClient) -> None:
    """Turn imaplib's protocol trace off unless its logger ("imapclient.imaplib") is at DEBUG.

    imapclient turns it on (``debug = 5``) for every client and lets the logger drop it, but imaplib formats each
    trace line before the logger is asked: the ``repr`` of every FETCH literal, and of all of a FETCH's data
    again when the command completes. For a chunk of bodies that is tens of MB of text made and thrown away,
    under the GIL, on each FETCH. An operator who turns that logger to DEBUG still gets the trace."""
    if not logging.getLogger("imapclient.imaplib").isEnabledFor(logging.DEBUG):
        client._imap.debug = 0  # imapclient's own switch (set in IMAPClient.__init__); no public setter


def _oauth2_login(client: IMAPClient, settings: MailboxSettings) -> None:
    tokens = tokens_for(settings.oauth2, settings.username)
    for attempt in (1, 2):
        token = tokens.token()
        try:
            if client.has_capability("AUTH=OAUTHBEARER"):
                client.oauthbearer_login(settings.username, token)
            else:
                client.oauth2_login(settings.username, token)
            return
        except IMAPClientError as error:
            tokens.invalidate(token)  # refused (expired, revoked): the next sign-in fetches a new one
            if attempt == 2:
                raise IMAPClientError(f"OAuth2 sign-in as {settings.username} refused: {error}") from None


@contextmanager
def open_mailbox(settings: MailboxSettings) -> Iterator[Mailbox]:
    """Connect, log in and select ``settings.folder``; always logs out."""
    if settings.protocol == "maildir":
        yield MaildirMailbox(settings.maildir_path, settings.folder)
        return
    if settings.protocol == "graph":
        yield GraphMailbox(graph_client(settings), settings.folder, settings.graph_page_size)
        return
    try:
        client = connect_imap(settings)
        box = ImapMailbox(client, settings.folder)
    except (IMAPClientError, OSError) as exc:
        raise MailboxError(f"IMAP {settings.host}:{settings.port}: {describe(exc, 'mailbox')}") from exc
    except TokenRefused as exc:
        raise MailboxError(f"IMAP {settings.host}:{settings.port}: {exc}") from exc
    try:
        yield box
    except (IMAPClientError, OSError) as exc:
        raise MailboxError(f"IMAP {settings.host}:{settings.port}: {type(exc).__name__}: {exc}") from exc
    finally:
        try:
            client.logout()
        except (IMAPClientError, OSError) as exc:
            log.debug("logout failed: %s", exc)
