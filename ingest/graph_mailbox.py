"""A Microsoft 365 mailbox through Microsoft Graph, where IMAP is switched off: the same ``Mailbox`` the worker
polls over IMAP, so one pipeline serves both.

* ``entries``: the folder's messages in the order they arrived, each with its size before anything is
  downloaded — the extended property ``PidTagMessageSize`` (``Long 0x0E08``), as Zammad reads it — page by
  page (``@odata.nextLink``), so the 10 MB gate refuses a message without its body ever being fetched.
* ``fetch_header``: the message's internet headers (``internetMessageHeaders``) as a header block, for the
  oversized reply; ``fetch_many``: the raw MIME (``/messages/{id}/$value``).
* ``move_many``: to a folder found by its display name, made when missing; ids are immutable (the client
  asks for them), so a moved message keeps its id; one already gone is not an error.
* ``uidvalidity`` names the folder (a digest of its id): a message's key is (folder, that, its Graph id).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import ParamSpec, TypeVar

from config import MailboxSettings
from ingest.errors import MailboxError
from ingest.mailbox_entry import MailboxEntry
from notifications.graph_client import GraphClient, GraphError

P = ParamSpec("P")
T = TypeVar("T")

log = logging.getLogger(__name__)
SIZE_PROPERTY = "Long 0x0E08"  # PidTagMessageSize: the message's size in bytes, as Exchange stores it
WELL_KNOWN = {"inbox": "inbox", "sent items": "sentitems", "sentitems": "sentitems"}


def graph_client(settings: MailboxSettings) -> GraphClient:
    return GraphClient(settings.graph_url, settings.username, settings.oauth2, settings.ca_file,
                       settings.timeout_seconds)


def _outage(method: Callable[P, T]) -> Callable[P, T]:
    """Graph failed (not the message): a MailboxError, so the poll stops and no message is charged."""

    @functools.wraps(method)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(*args, **kwargs)
        except GraphError as error:
            raise MailboxError(str(error)) from error

    return wrapped


class GraphMailbox:
    @_outage
    def __init__(self, client: GraphClient, folder: str, page_size: int = 100) -> None:
        self.client = client
        self.folder = folder
        self.page_size = page_size
        self._folders: dict[str, str] = {}
        self.folder_id = self._folder_id(folder, create=False)
        self.uidvalidity = "graph:" + hashlib.sha256(self.folder_id.encode()).hexdigest()[:32]

    def _folder_id(self, name: str, create: bool = True) -> str:
        """The id of the top-level folder named ``name`` (Inbox by its well-known name); made if missing."""
        if name in self._folders:
            return self._folders[name]
        found = self.find_folder(name)
        if found is None and not create:
            raise MailboxError(f"Graph {self.client.mailbox}: there is no folder {name!r}")
        self._folders[name] = found or str(self._create_folder(name)["id"])
        return self._folders[name]

    @_outage
    def make_folder(self, name: str) -> str:
        """The folder ``name``, made if missing (``check --create-folders``)."""
        return self._folder_id(name, create=True)

    @_outage
    def find_folder(self, name: str) -> str | None:
        """The id of the top-level folder ``name`` (Inbox, Sent Items by their well-known names), or None."""
        known = WELL_KNOWN.get(name.casefold())
        if known:
            return str(self._get(f"/mailFolders/{known}")["id"])
        quoted = name.replace("'", "''")
        listed = self._get("/mailFolders", {"$filter": f"displayName eq '{quoted}'", "$select": "id,displayName"})
        matches: list[dict[str, object]] = listed.get("value", [])  # type: ignore[assignment]
        return str(matches[0]["id"]) if matches else None

    def _create_folder(self, name: str) -> dict[str, object]:
        response = self.client.request("POST", "/mailFolders", json={"displayName": name})
        assert response is not None
        return dict(response.json())

    def _get(self, path: str, params: dict[str, str] | None = None) -> dict[str, object]:
        response = self.client.request("GET", path, params=params)
        assert response is not None
        return dict(response.json())

    @_outage
    def entries(self) -> list[MailboxEntry]:
        found: list[MailboxEntry] = []
        page: str | None = f"/mailFolders/{self.folder_id}/messages"
        params: dict[str, str] | None = {
            "$select": "id,receivedDateTime", "$top": str(self.page_size), "$orderby": "receivedDateTime asc",
            "$expand": f"singleValueExtendedProperties($filter=id eq '{SIZE_PROPERTY}')"}
        while page is not None:
            listed = self._get(page, params)
            for item in listed.get("value", []):  # type: ignore[attr-defined]
                found.append(MailboxEntry(str(item["id"]), _size(item), _received(item)))
            link = listed.get("@odata.nextLink")
            page, params = (str(link), None) if link else (None, None)  # the link carries the query
        return sorted(found, key=lambda e: e.received_at)  # stable: Graph's order within the same second

    @_outage
    def fetch_header(self, uid: str) -> bytes | None:
        response = self.client.request("GET", f"/messages/{uid}", params={"$select": "internetMessageHeaders"},
                                       missing_ok=True)
        if response is None:
            return None
        lines = [f"{h.get('name', '')}: {h.get('value', '')}" for h in response.json().get("internetMessageHeaders")
                 or [] if h.get("name")]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")

    @_outage
    def fetch_many(self, uids: list[str]) -> dict[str, bytes]:
        """The raw MIME of each message still there."""
        found: dict[str, bytes] = {}
        for uid in uids:
            response = self.client.request("GET", f"/messages/{uid}/$value", missing_ok=True)
            if response is not None:
                found[uid] = response.content
        return found

    @_outage
    def move_many(self, uids: list[str], folder: str) -> None:
        if not uids:
            return
        target = self._folder_id(folder)
        for uid in uids:
            moved = self.client.request("POST", f"/messages/{uid}/move", json={"destinationId": target},
                                        missing_ok=True)
            if moved is None:
                log.info("message %s was already gone from %s", uid, self.folder)

    @_outage
    def append(self, folder: str, raw: bytes) -> None:
        """Store a message (MIME) in ``folder``. Exchange keeps what Graph sends in Sent Items itself, so this
        is for an operator's own folder only."""
        target = self._folder_id(folder)
        self.client.request("POST", f"/mailFolders/{target}/messages", data=base64.b64encode(raw),
                            headers={"Content-Type": "text/plain"})


def _size(item: dict[str, object]) -> int:
    for prop in item.get("singleValueExtendedProperties") or []:  # type: ignore[attr-defined]
        if _property_tag(str(prop.get("id", ""))) == _property_tag(SIZE_PROPERTY):
            try:
                return int(prop.get("value"))
            except (TypeError, ValueError):
                break
    # never downloaded on a guess past the size gate, nor refused on one: an outage until Exchange says it
    raise MailboxError(f"Graph listed message {item.get('id')} without its size ({SIZE_PROPERTY})")


def _received(item: dict[str, object]) -> datetime:
    text = str(item.get("receivedDateTime") or "")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _property_tag(name: str) -> tuple[str, int] | None:
    """("long", 0x0E08) for "Long 0x0E08" or "Long 0xe08" (Graph spells the id back its own way)."""
    kind, _, tag = name.partition(" ")
    try:
        return kind.casefold(), int(tag, 16)
    except ValueError:
        return None
