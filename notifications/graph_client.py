"""Microsoft Graph over HTTPS, for the mailbox (``ingest.graph_mailbox``) and for sending
(``notifications.transport.GraphTransport``): one signed-in session that answers the way the service needs.

Every request carries the app's token (MSAL client credentials, scope ``https://graph.microsoft.com/.default``
unless ``oauth2.scope`` says otherwise) and asks for immutable ids (``Prefer: IdType="ImmutableId"``), so a
message keeps its id when it is moved. What goes wrong is said the way the IMAP path says it: a refused token
is renewed once, then a clear ``GraphError``; throttling (429, 503, 504) is waited out as the server asks
(``Retry-After``, at most ``MAX_WAIT`` seconds, ``MAX_RETRIES`` times), then a ``GraphError`` — for the
mailbox an outage: the poll ends and no message is charged an attempt. TLS is verified, against ``ca_file``
if given.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import requests

from config import OAuth2Settings
from config.errors import UipIntakeError
from notifications.oauth2 import TokenRefused, tokens_for

log = logging.getLogger(__name__)
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
THROTTLED = (429, 503, 504)
MAX_RETRIES = 4
MAX_WAIT = 30.0  # seconds; a longer Retry-After ends the poll instead (the next poll tries again)
# what an operator grants, per refusal: application permissions, or Exchange's RBAC for Applications roles
PERMISSION_HINT = ("grant the app the Microsoft Graph application permission Mail.ReadWrite (and Mail.Send to "
                   "send), or assign it the Exchange roles \"Application Mail.ReadWrite\" and \"Application "
                   "Mail.Send\" scoped to this mailbox (New-ManagementRoleAssignment)")


class GraphError(UipIntakeError):
    """Graph could not be reached or refused the request; ``status`` is its HTTP status (0: no answer)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class GraphClient:
    """Requests to ``{graph_url}/users/{mailbox}/…`` (or a full URL, an ``@odata.nextLink``)."""

    def __init__(self, graph_url: str, mailbox: str, oauth2: OAuth2Settings, ca_file: str = "",
                 timeout: float = 60.0, sleep: Callable[[float], None] = time.sleep) -> None:
        self.base = graph_url.rstrip("/")
        self.mailbox = mailbox
        self.user_path = f"{self.base}/users/{quote(mailbox, safe='@')}"
        self.tokens = tokens_for(oauth2.model_copy(update={"scope": oauth2.scope or GRAPH_SCOPE}), mailbox)
        self.session = requests.Session()
        self.verify: str | bool = ca_file or True
        self.timeout = timeout
        self._sleep = sleep

    def url(self, path: str) -> str:
        return path if path.startswith(("https://", "http://")) else self.user_path + path

    def request(self, method: str, path: str, *, json: Any = None, data: bytes | None = None,
                headers: Mapping[str, str] | None = None, params: Mapping[str, str] | None = None,
                missing_ok: bool = False) -> requests.Response | None:
        """The response (2xx), or None for a 404 when ``missing_ok`` (a message already gone)."""
        renewed, waits = False, 0
        while True:
            try:
                token = self.tokens.token()
            except TokenRefused as error:
                raise GraphError(f"Graph {self.mailbox}: {error}") from error
            sent = {"Authorization": f"Bearer {token}", "Prefer": 'IdType="ImmutableId"', **(headers or {})}
            try:
                response = self.session.request(method, self.url(path), json=json, data=data, headers=sent,
                                                params=params, timeout=self.timeout, verify=self.verify)
            except requests.RequestException as error:
                raise GraphError(f"Graph {self.base}: {type(error).__name__}: {error}") from error
            status = response.status_code
            if status == 401 and not renewed:
                self.tokens.invalidate(token)  # expired or revoked: one new token
                renewed = True
                continue
            if status in THROTTLED and waits < MAX_RETRIES:
                wait = retry_after(response)
                if wait is not None and wait <= MAX_WAIT:
                    log.info("Graph throttled (%s); waiting %.1f s as asked", status, wait)
                    self._sleep(wait)
                    waits += 1
                    continue
            if status == 404 and missing_ok:
                return None
            if 200 <= status < 300:
                return response
            raise GraphError(refusal(method, path, response), status)


    def close(self) -> None:
        self.session.close()


def retry_after(response: requests.Response) -> float | None:
    """Seconds the server asks to wait (``Retry-After`` in seconds); 2 when it names none."""
    value = response.headers.get("Retry-After")
    if value is None:
        return 2.0
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None  # an HTTP date: too far to wait for within a poll


def refusal(method: str, path: str, response: requests.Response) -> str:
    """What Graph said, for the log and ``check``: the HTTP status, Graph's error code and message, and for a
    refused permission what the operator must grant."""
    where = path.split("?")[0] if not path.startswith("http") else "the next page"
    try:
        error = response.json().get("error", {})
        said = f"{error.get('code', '')}: {error.get('message', '')}".strip(": ")
    except ValueError:
        said = response.text[:200]
    text = f"Graph {method} {where}: HTTP {response.status_code} {said}".rstrip()
    if response.status_code == 401:
        return f"{text} (the token was refused twice: check oauth2.tenant, client_id and the credential)"
    if response.status_code == 403:
        return f"{text} ({PERMISSION_HINT})"
    return text
