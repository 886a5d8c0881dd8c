"""Read stored forms again with today's readers (after a parser fix): what would change, and — when applied —
a new version marked "reprocessed", an audit line, and a reply only when asked for.

The form is read from the archive exactly as it came in the email; the version it replaces stays, with its
values, so staff can compare. Nothing is sent unless ``notify``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Settings
from ingest.form_sandbox import options_from
from ingest.handlers.application import add_version
from notifications.form_reply import form_reply_context
from notifications.locale import problem_text, refusal_text
from notifications.reply_queue import queue_reply
from parsers import validate
from parsers.file_safety import UnreadableFile
from parsers.form_file import Parse
from storage import Application, Archive, Attachment, Database, InboundMessage
from storage.staff import audit


@dataclass
class Reprocessed:
    reference: str
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # key → (stored value, value read today)
    problems_before: list[str] = field(default_factory=list)
    problems_after: list[str] = field(default_factory=list)
    version: int | None = None  # the new version, when applied
    error: str = ""  # the form could not be read today

    @property
    def changed(self) -> bool:
        return bool(self.changes) or self.problems_before != self.problems_after


def _chosen(session: Session, references: Iterable[str], since: datetime | None) -> list[Application]:
    query = select(Application).order_by(Application.reference)
    wanted = list(references)
    if wanted:
        query = query.where(Application.reference.in_(wanted))
    if since is not None:
        query = query.where(Application.received_at >= since)
    return list(session.scalars(query))


def reprocess(settings: Settings, db: Database, archive: Archive, parse: Parse, references: Iterable[str] = (),
              since: datetime | None = None, apply: bool = False, notify: bool = False,
              actor: str = "cli") -> list[Reprocessed]:
    results = []
    with db.session() as session:
        for application in _chosen(session, references, since):
            result = _one(session, settings, archive, parse, application, apply, notify, actor)
            if result is not None:
                results.append(result)
        if not apply:
            session.rollback()
    return results


def _one(session: Session, settings: Settings, archive: Archive, parse: Parse, application: Application,
         apply: bool, notify: bool, actor: str) -> Reprocessed | None:
    current = application.current_submission
    if current is None or current.attachment_id is None:
        return None
    attachment = session.get(Attachment, current.attachment_id)
    message = session.get(InboundMessage, current.message_id)
    assert attachment is not None and message is not None
    result = Reprocessed(application.reference,
                         problems_before=sorted(problem_text(p.problem(), "en") for p in current.problems))
    try:
        _kind, record = parse(archive.get("files", attachment.sha256), attachment.filename,
                              options_from(settings.parsing))
    except (UnreadableFile, OSError) as error:
        result.error = refusal_text(error, "en", advice=False) if isinstance(error, UnreadableFile) else str(error)
        return result
    if record is None:
        result.error = "not a form any more"
        return result
    problems = validate(record, message.received_at.astimezone(settings.call.zone).date())
    stored = {v.key: v.value for v in current.values}
    today = {key: value.value for key, value in record.values.items()}
    result.changes = {key: (stored.get(key), today.get(key)) for key in sorted(stored.keys() | today.keys())
                      if stored.get(key) != today.get(key)}
    result.problems_after = sorted(problem_text(p, "en") for p in problems)
    if not apply or not result.changed:
        return result
    submission = add_version(session, application, record, problems, message, attachment,
                             after_deadline=current.after_deadline, reprocessed=True)
    result.version = submission.version
    audit(session, actor, "reprocess", reference=application.reference,
          detail={"version": submission.version, "fields": sorted(result.changes), "notify": notify})
    if notify:
        context = form_reply_context(application, record.as_fields(), problems, attachment.filename,
                                     message.attachments,
                                     submission, greeting=application.municipality or "")
        queue_reply(message, settings, "acknowledgement" if not problems else "clarification", context,
                    application)
    return result
