"""IMAP IDLE: new mail is processed within seconds; the interval poll stays the safety net.

One thread keeps its own connection in IDLE on the inbox (read-only) and calls ``wake`` when the server
announces new mail (EXISTS/RECENT). IDLE is re-issued every ``RENEW_SECONDS`` (servers drop IDLE after
30 minutes, RFC 2177), which is also the liveness probe: a connection that went silent (a dead network
path sends no error) fails the DONE within the read timeout. A dead or failing connection is dropped and
re-opened with exponential backoff, and ``wake`` is called after every reconnect so a full UID search
catches anything missed meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from config import MailboxSettings
from ingest.mailbox import connect_imap
from notifications.oauth2 import TokenRefused

log = logging.getLogger(__name__)
RENEW_SECONDS = 5 * 60  # well inside RFC 2177's 29 minutes; bounds how long a silently dead link goes unseen
CHECK_SECONDS = 2.0  # how often the loop looks at the stop flag while waiting in IDLE
MAX_BACKOFF = 300.0


class IdleWatcher(threading.Thread):
    def __init__(self, settings: MailboxSettings, wake: Callable[[], None], stop: threading.Event,
                 renew_seconds: float = RENEW_SECONDS) -> None:
        super().__init__(name="imap-idle", daemon=True)
        self.settings, self.wake, self.stop_event, self.renew_seconds = settings, wake, stop, renew_seconds
        self.connected = threading.Event()
        self.client: IMAPClient | None = None  # the current connection (for diagnostics and tests)

    def run(self) -> None:
        backoff = 1.0
        first = True
        while not self.stop_event.is_set():
            try:
                read_timeout = CHECK_SECONDS + min(self.settings.timeout_seconds, 30)
                client = connect_imap(self.settings, read_timeout=read_timeout)
            except (IMAPClientError, OSError, ValueError, TokenRefused) as error:
                log.warning("IDLE connection failed (%s); retrying in %.0f s", error, backoff)
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            backoff = 1.0
            self.client = client
            try:
                if not first:
                    self.wake()  # anything that arrived while we were away
                first = False
                self._watch(client)
            except (IMAPClientError, OSError, ValueError) as error:
                # imaplib says "readline of closed file" (ValueError) when the socket died between two commands
                log.warning("IDLE connection lost (%s); reconnecting", error)
            except Exception:  # the watcher must outlive anything: the interval poll alone would be slow
                log.exception("IDLE watcher failed; reconnecting in %.0f s", backoff)
                self.stop_event.wait(backoff)
            finally:
                self.connected.clear()
                with contextlib.suppress(IMAPClientError, OSError, ValueError):
                    client.logout()

    def _watch(self, client: IMAPClient) -> None:
        if b"IDLE" not in client.capabilities():
            log.warning("the IMAP server has no IDLE; relying on the interval poll")
            self.stop_event.wait()
            return
        client.select_folder(self.settings.folder, readonly=True)
        while not self.stop_event.is_set():
            client.idle()
            self.connected.set()
            started = time.monotonic()
            news = False
            try:
                while not self.stop_event.is_set() and time.monotonic() - started < self.renew_seconds:
                    responses = client.idle_check(timeout=CHECK_SECONDS)
                    if any(isinstance(r, tuple) and len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                        news = True
                        break
                    if any(isinstance(r, tuple) and r and r[0] == b"BYE" for r in responses):
                        raise OSError("server said BYE")
            finally:
                client.idle_done()
            if news:
                log.debug("IDLE: new mail")
                self.wake()
