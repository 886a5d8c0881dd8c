"""The worker's parts, wired from settings: what every step of a poll is handed (a typed set of services,
not a bag). The poll itself (``ingest.poller.Intake``) is these services with the loop over them; the steps
take ``Services`` and never import the poll that calls them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Self

from sqlalchemy.exc import DBAPIError

from config import MailboxSettings, Settings
from ingest.mailbox import Mailbox, open_mailbox
from ingest.message_reader import MessageReader, reader_for
from notifications import Transport, make_transport
from storage import Archive, Database
from storage.coordination import release_lease

log = logging.getLogger("ingest.poller")
MailboxFactory = Callable[[MailboxSettings], AbstractContextManager[Mailbox]]


@dataclass
class Services:
    """Settings, database, archive, the relay's transport, the mailbox's factory and the message reader; tests
    replace the mailbox factory, the transport or the reader."""

    settings: Settings
    db: Database
    archive: Archive
    transport: Transport
    mailbox_factory: MailboxFactory = open_mailbox
    # default (None given): the settings' reader, bounded parse workers or this process (made in __post_init__)
    reader: MessageReader = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.reader is None:
            self.reader = reader_for(self.settings.parsing, self.settings.limits)

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(settings, Database(settings.database.url), Archive(settings.storage.archive_dir),
                   make_transport(settings.smtp))

    def close(self) -> None:
        """Stop the parse workers and the archive's writers, give up the lease and release database
        connections."""
        self.reader.close()
        self.archive.close()
        try:
            release_lease(self.db)
        except DBAPIError as error:
            log.warning("could not release the worker lease: %s", error)
        self.db.dispose()
