"""One message's pipeline context in memory (SQLite in memory, a temporary archive, no servers), for the
stages' unit tests: each handler's ``process`` is called on it directly."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from config import Settings, load_settings
from ingest.context import MessageContext
from ingest.demo import application_email, complete_values, to_bytes
from ingest.file_archive import store_files
from ingest.message_files import read_message_files
from ingest.message_reading import MessageLimits, content_digest, read_headers
from parsers.blank_form import FormValue
from parsers.form_file import ParseOptions
from storage import Archive, Database, InboundMessage

WHEN = datetime(2019, 9, 2, 9, 0, tzinfo=UTC)


def context(db: Database, tmp_path: Path, raw: bytes, uid: str = "1", size: int | None = None,
            headers_only: bool = False, sender: str = "a@aarhus.dk", received_at: datetime = WHEN,
            settings: Settings | None = None) -> MessageContext:
    """A stored message (its row flushed, not committed) as the poller hands it to the pipeline."""
    headers = read_headers(raw)
    message_id = str(headers.get("Message-ID") or "")
    digest = content_digest(raw, headers_only=headers_only)
    session = Session(db.engine, expire_on_commit=False)
    row = InboundMessage(folder="INBOX", uidvalidity="1", uid=uid, message_id=message_id or None,
                         dedupe_key=message_id or f"sha256:{digest}", content_digest=digest, sender=sender,
                         reply_address=sender, subject=str(headers.get("Subject") or ""), received_at=received_at,
                         size=size or len(raw), headers_only=headers_only, state="received")
    session.add(row)
    session.flush()
    settings = settings or load_settings(None)
    # read as the poll's message reader reads it, in this process (its files parsed on demand by the stages)
    files = None if headers_only else read_message_files(raw, ParseOptions(),
                                                         MessageLimits.from_settings(settings.limits))
    archive = Archive(tmp_path)
    if files is not None:
        store_files(archive, [files])  # as the fetch step does, before the pipeline
    return MessageContext(settings=settings, session=session, archive=archive, row=row, message=headers,
                          files=files)


def through(ctx: MessageContext, *stages: Callable[[MessageContext], None]) -> MessageContext:
    """``ctx`` after ``stages`` ran on it, in order (the stages before the one under test)."""
    for stage in stages:
        stage(ctx)
    return ctx


def email(message_id: str = "<a@aarhus.dk>", values: dict[str, FormValue] | None = None, with_form: bool = True,
          **extra: str) -> bytes:
    form = (values if values is not None else complete_values()) if with_form else None
    subject = extra.pop("Subject", "Ansøgning om implementeringsstøtte til Åben Dialog")
    return to_bytes(application_email(form, message_id=message_id, subject=subject, extra_headers=extra))
