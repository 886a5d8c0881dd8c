"""New mail in a Graph mailbox within seconds, without a public callback URL (what IDLE does for IMAP).

One thread asks the inbox every ``mailbox.graph_delta_seconds`` what changed since last time (a delta query:
``/mailFolders/{inbox}/messages/delta``, then the ``@odata.deltaLink`` it ends with) and calls ``wake`` when a
message arrived. The link is kept in the database (``sync_state``), so a restarted worker goes on from where
it was instead of listing the whole inbox again; a link Graph no longer accepts (410 Gone: the sync was too
old) is forgotten, and the next round starts afresh. Errors are logged and retried with a growing pause: the
interval poll stays the safety net, as it does beside IDLE.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from config import MailboxSettings
from ingest.errors import MailboxError
from ingest.graph_mailbox import GraphMailbox, graph_client
from notifications.graph_client import GraphClient, GraphError
from storage import Database
from storage.sync_state import keep_sync_value, sync_value

log = logging.getLogger(__name__)
MAX_BACKOFF = 300.0


class DeltaWatcher(threading.Thread):
    def __init__(self, settings: MailboxSettings, db: Database, wake: Callable[[], None], stop: threading.Event,
                 client: GraphClient | None = None) -> None:
        super().__init__(name="graph-delta", daemon=True)
        self.settings, self.db, self.wake, self.stop_event = settings, db, wake, stop
        self.client = client or graph_client(settings)
        self.key = f"graph-delta:{settings.username}:{settings.folder}"
        self._folder_id: str | None = None
        self.rounds = 0  # delta rounds done (tests and diagnostics)

    def run(self) -> None:
        backoff = 1.0
        while not self.stop_event.is_set():
            try:
                if self.check():
                    self.wake()
                backoff, pause = 1.0, self.settings.graph_delta_seconds
            except (GraphError, MailboxError) as error:
                log.warning("Graph delta query failed (%s); again in %.0f s", error, backoff)
                pause, backoff = backoff, min(backoff * 2, MAX_BACKOFF)
            self.stop_event.wait(pause)

    def check(self) -> bool:
        """One round: True when a message arrived since the last (or the sync started afresh)."""
        with self.db.session() as session:
            link = sync_value(session, self.key)
        if self._folder_id is None:
            self._folder_id = GraphMailbox(self.client, self.settings.folder).folder_id
        page = link or f"/mailFolders/{self._folder_id}/messages/delta"
        params: dict[str, str] | None = None if link else {"$select": "id"}
        arrived = link is None
        while True:
            try:
                response = self.client.request("GET", page, params=params)
            except GraphError as error:
                if error.status == 410 and link is not None:  # the delta token expired: start afresh
                    self._keep(None)
                    return True
                raise
            assert response is not None
            body = response.json()
            arrived |= any("@removed" not in item for item in body.get("value", []))
            if body.get("@odata.nextLink"):
                page, params = str(body["@odata.nextLink"]), None
                continue
            self._keep(body.get("@odata.deltaLink"))
            self.rounds += 1
            return arrived

    def _keep(self, link: str | None) -> None:
        with self.db.session() as session:
            keep_sync_value(session, self.key, link)
