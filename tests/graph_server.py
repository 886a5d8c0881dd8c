"""A local Microsoft Graph mailbox for the tests, on loopback over HTTPS (the identity provider's private CA):
what Exchange Online answers a mail app through Graph v1.0, for one mailbox.

* ``/v1.0/users/{mailbox}/mailFolders/inbox`` (and ``sentitems``), ``/mailFolders?$filter=displayName eq '…'``,
  ``POST /mailFolders``; ``/mailFolders/{id}/messages`` ordered by arrival, ``$top`` capped at ``page_size``
  with ``@odata.nextLink`` for the rest, each message's size as ``singleValueExtendedProperties`` (``Long
  0xe08``, as Graph spells it back); ``/messages/{id}`` with ``internetMessageHeaders``; ``/messages/{id}/$value``
  (the MIME); ``POST /messages/{id}/move`` (a new id, unless ``Prefer: IdType="ImmutableId"`` asked for ids
  that stay); ``POST /sendMail`` (base64 MIME, kept in Sent Items by the server itself);
  ``/mailFolders/{id}/messages/delta`` (what arrived since ``$deltatoken``, then an ``@odata.deltaLink``).
* Tokens are the identity provider's, good for this one mailbox (else 401; another mailbox: 403).
* Faults on demand: ``throttle`` answers the next requests 429 with ``Retry-After``; ``requests`` records
  every request, so a test can prove a body was never downloaded.
"""

from __future__ import annotations

import base64
import email
import json
import re
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from identity_provider import IdentityProvider


@dataclass
class StoredMessage:
    id: str
    folder: str  # a folder id
    raw: bytes
    received: datetime
    seq: int = 0  # the order of arrival (what a delta token counts)


@dataclass
class GraphServer:
    idp: IdentityProvider
    mailbox: str
    page_size: int = 10
    folders: dict[str, str] = field(default_factory=dict)  # id -> display name
    messages: dict[str, StoredMessage] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path) of each request
    sent: list[bytes] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)  # time.monotonic() of each sendMail (the bench's clock)
    throttle: int = 0  # the next this many requests are answered 429
    retry_after: str = "0"
    seq: int = 0
    expire_deltas: bool = False  # a delta token is answered 410 Gone (a sync too old)
    refuse_sends: bool = False  # sendMail answered 503 (Exchange busy)
    fail_moves: bool = False  # every move answered 500 (a crash between the commit and the move, as seen)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> GraphServer:
        self.folders = {"inbox-" + secrets.token_hex(6): "Inbox", "sentitems-" + secrets.token_hex(6): "Sent Items"}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.idp.ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}/v1.0"

    def folder_id(self, name: str) -> str | None:
        return next((i for i, shown in self.folders.items() if shown.casefold() == name.casefold()), None)

    def resolve(self, segment: str) -> str:
        """A folder id, or a well-known folder name (``inbox``, ``sentitems``) as Graph accepts in its place."""
        well_known = {"inbox": "Inbox", "sentitems": "Sent Items"}.get(segment.lower())
        return (self.folder_id(well_known) or segment) if well_known else segment

    def deliver(self, raw: bytes, received: datetime | None = None) -> str:
        message_id = "AAMkImm" + secrets.token_urlsafe(24)
        with self.lock:
            inbox = self.folder_id("Inbox")
            assert inbox is not None
            self.seq += 1
            self.messages[message_id] = StoredMessage(message_id, inbox, raw, received or datetime.now(UTC),
                                                      self.seq)
        return message_id

    def in_folder(self, name: str) -> list[StoredMessage]:
        folder = self.folder_id(name)
        return [m for m in self.messages.values() if m.folder == folder]

    def downloaded(self) -> list[str]:
        return [path for method, path in self.requests if path.endswith("/$value")]


def _graph_error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _handler(graph: GraphServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: dict[str, Any] | bytes | None = None,
                  headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode() if isinstance(body, dict) else (body or b"")
            self.send_response(status)
            content_type = "application/json" if isinstance(body, dict) else "message/rfc822"
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _route(self) -> tuple[str, dict[str, list[str]]] | None:
            """The path below /users/{mailbox}, or None when the request was answered already (refused)."""
            parts = urlsplit(self.path)
            with graph.lock:
                graph.requests.append((self.command, parts.path))
                throttled = graph.throttle > 0
                graph.throttle -= 1 if throttled else 0
            if throttled:
                self._send(429, _graph_error("ApplicationThrottled", "Too many requests"),
                           {"Retry-After": graph.retry_after})
                return None
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            user = graph.idp.active_user(token)
            if user is None:
                self._send(401, _graph_error("InvalidAuthenticationToken", "Access token has expired."))
                return None
            prefix = f"/v1.0/users/{graph.mailbox}"
            if unquote(parts.path).lower().split("/")[3:4] != [graph.mailbox.lower()] or user != graph.mailbox:
                self._send(403, _graph_error("ErrorAccessDenied", "Access is denied. Check credentials."))
                return None
            return unquote(parts.path)[len(prefix):], parse_qs(parts.query)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def do_GET(self) -> None:
            routed = self._route()
            if routed is None:
                return
            path, query = routed
            segments = path.strip("/").split("/")
            if segments[0] == "mailFolders" and len(segments) == 1:
                wanted = query.get("$filter", [""])[0].removeprefix("displayName eq '").removesuffix("'")
                wanted = wanted.replace("''", "'")
                found = [{"id": i, "displayName": n} for i, n in graph.folders.items() if n == wanted]
                self._send(200, {"value": found})
            elif segments[0] == "mailFolders" and graph.resolve(segments[1]) not in graph.folders:
                self._send(404, _graph_error("ErrorItemNotFound", "The specified folder could not be found."))
            elif segments[0] == "mailFolders" and len(segments) == 2:
                folder = graph.resolve(segments[1])
                self._send(200, {"id": folder, "displayName": graph.folders[folder]})
            elif segments[0] == "mailFolders" and segments[2:] == ["messages"]:
                self._list(graph.resolve(segments[1]), query)
            elif segments[0] == "mailFolders" and segments[2:] == ["messages", "delta"]:
                self._delta(graph.resolve(segments[1]), query)
            elif segments[0] == "messages" and len(segments) in (2, 3):
                message = graph.messages.get(segments[1])
                if message is None:
                    self._send(404, _graph_error("ErrorItemNotFound", "The specified object was not found."))
                elif len(segments) == 3 and segments[2] == "$value":
                    self._send(200, message.raw)
                else:
                    head = email.message_from_bytes(message.raw, policy=policy.compat32)
                    self._send(200, {"id": message.id, "internetMessageHeaders": [
                        {"name": k, "value": re.sub(r"\r?\n(?=[ \t])", "", str(v))} for k, v in head.items()]})
            else:
                self._send(400, _graph_error("BadRequest", f"unsupported {path}"))

        def _list(self, folder: str, query: dict[str, list[str]]) -> None:
            top = min(int(query.get("$top", ["10"])[0]), graph.page_size)
            skip = int(query.get("$skip", ["0"])[0])
            listed = sorted((m for m in graph.messages.values() if m.folder == folder), key=lambda m: m.received)
            page = listed[skip:skip + top]
            body: dict[str, Any] = {"value": [{
                "id": m.id, "receivedDateTime": m.received.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "singleValueExtendedProperties": [{"id": "Long 0xe08", "value": str(len(m.raw))}]} for m in page]}
            if skip + top < len(listed):
                body["@odata.nextLink"] = (f"{graph.url}/users/{graph.mailbox}/mailFolders/{folder}/messages"
                                           f"?$top={top}&$skip={skip + top}")
            self._send(200, body)

        def _delta(self, folder: str, query: dict[str, list[str]]) -> None:
            """What arrived in ``folder`` since the token (all of it without one), then the next link."""
            token = query.get("$deltatoken", [None])[0]
            if token is not None and graph.expire_deltas:
                self._send(410, _graph_error("SyncStateNotFound", "The sync state is no longer valid."))
                return
            since = int(token or 0)
            with graph.lock:
                new = [{"id": m.id} for m in graph.messages.values() if m.folder == folder and m.seq > since]
                now = graph.seq
            self._send(200, {"value": new, "@odata.deltaLink": f"{graph.url}/users/{graph.mailbox}/mailFolders/"
                                                              f"{folder}/messages/delta?$deltatoken={now}"})

        def do_POST(self) -> None:
            routed = self._route()
            if routed is None:
                return
            path, _ = routed
            segments, body = path.strip("/").split("/"), self._body()
            if segments == ["mailFolders"]:
                name = json.loads(body)["displayName"]
                if graph.folder_id(name):
                    self._send(409, _graph_error("ErrorFolderExists", "A folder with the specified name already "
                                                                      "exists."))
                    return
                folder = "folder-" + secrets.token_hex(6)
                graph.folders[folder] = name
                self._send(201, {"id": folder, "displayName": name})
            elif segments[0] == "messages" and segments[2:] == ["move"] and graph.fail_moves:
                self._send(500, _graph_error("InternalServerError", "The move failed."))
            elif segments[0] == "messages" and segments[2:] == ["move"]:
                immutable = 'IdType="ImmutableId"' in self.headers.get("Prefer", "")
                with graph.lock:
                    message = graph.messages.get(segments[1])
                    target = graph.resolve(json.loads(body)["destinationId"])
                    if message is not None:
                        message.folder = target
                        if not immutable:  # Exchange's default ids change with the folder
                            del graph.messages[message.id]
                            message.id = "AAMkMoved" + secrets.token_urlsafe(24)
                            graph.messages[message.id] = message
                if message is None:
                    self._send(404, _graph_error("ErrorItemNotFound", "The specified object was not found."))
                else:
                    self._send(201, {"id": message.id})
            elif segments == ["sendMail"] and graph.refuse_sends:
                self._send(503, _graph_error("ServiceUnavailable", "The service is busy."), {"Retry-After": "0"})
            elif segments == ["sendMail"]:
                raw = base64.b64decode(body)
                with graph.lock:
                    graph.sent.append(raw)
                    graph.sent_at.append(time.monotonic())
                sent_items = graph.folder_id("Sent Items")
                assert sent_items is not None
                graph.messages["AAMkSent" + secrets.token_urlsafe(12)] = StoredMessage(
                    "sent", sent_items, raw, datetime.now(UTC))
                self._send(202)
            else:
                self._send(400, _graph_error("BadRequest", f"unsupported {path}"))

    return Handler
