"""The pipeline's stages on an in-memory context (SQLite in memory, no servers): each stage's `process` and
`run_pipeline`'s outcome bookkeeping, one behaviour per test."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from config import load_settings
from config.errors import PipelineSignal
from ingest.context import MessageContext
from ingest.demo import application_email, complete_values, to_bytes
from ingest.errors import DuplicateMessage, IgnoreMessage, QuarantineMessage, RejectMessage
from ingest.handlers import duplicates, loop_guard, oversized, structure
from ingest.message_reading import content_digest, read_headers
from ingest.pipeline import OVERSIZED_PIPELINE, run_pipeline
from storage import Archive, Database, InboundMessage

WHEN = datetime(2019, 9, 2, 9, 0, tzinfo=UTC)


@pytest.fixture()
def db() -> Database:
    database = Database("sqlite://")
    database.migrate()
    return database


def context(db: Database, tmp_path: Path, raw: bytes, uid: str = "1", size: int | None = None,
            headers_only: bool = False) -> MessageContext:
    headers = read_headers(raw)
    message_id = str(headers.get("Message-ID") or "")
    digest = content_digest(raw, headers_only=headers_only)
    session = Session(db.engine, expire_on_commit=False)
    row = InboundMessage(folder="INBOX", uidvalidity="1", uid=uid, message_id=message_id or None,
                         dedupe_key=message_id or f"sha256:{digest}", content_digest=digest, sender="a@aarhus.dk",
                         reply_address="a@aarhus.dk", subject="s", received_at=WHEN, size=size or len(raw),
                         headers_only=headers_only, state="received")
    session.add(row)
    session.flush()
    return MessageContext(settings=load_settings(None), session=session, archive=Archive(tmp_path), row=row,
                          message=headers, raw=None if headers_only else raw)


def email(message_id: str = "<a@aarhus.dk>", **extra: str) -> bytes:
    return to_bytes(application_email(complete_values(), message_id=message_id, extra_headers=extra))


def test_duplicates_stage_stops_the_same_email_and_lets_a_reused_id_with_other_content_through(db, tmp_path):
    raw = email()
    first = context(db, tmp_path, raw)
    first.row.state, first.row.outcome = "processed", "application"
    first.session.commit()
    again = context(db, tmp_path, b"Received: from relay-2\r\n" + raw, uid="2")  # redelivered
    with pytest.raises(DuplicateMessage):
        duplicates.process(again)
    assert again.row.duplicate_of_id == first.row.id
    other = context(db, tmp_path, raw.replace(b"Hermed vores", b"Her er vores"), uid="3")
    duplicates.process(other)  # no signal: a new email that reuses the Message-ID
    assert other.row.id_collision_of_id == first.row.id


def test_structure_stage_quarantines_a_message_nested_too_deep_and_answers_it(db, tmp_path):
    deep = (b"From: a@aarhus.dk\r\nMessage-ID: <d@aarhus.dk>\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"
            + b"".join(b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1)
                       for i in range(40)))
    ctx = context(db, tmp_path, deep)
    with pytest.raises(QuarantineMessage) as stopped:
        structure.process(ctx)
    assert stopped.value.template == "quarantined" and "too_deep" in stopped.value.reason


def test_loop_guard_stage_ignores_an_auto_reply(db, tmp_path):
    ctx = context(db, tmp_path, email(**{"Auto-Submitted": "auto-replied"}))
    structure.process(ctx)
    with pytest.raises(IgnoreMessage):
        loop_guard.process(ctx)


def test_oversized_stage_rejects_with_a_reply_unless_the_loop_rules_forbid_it(db, tmp_path):
    head = email().split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    ctx = context(db, tmp_path, head, size=11_000_000, headers_only=True)
    with pytest.raises(RejectMessage) as rejected:
        oversized.process(ctx)
    assert rejected.value.template == "size_rejection" and rejected.value.context["size_mb"] == "10,5"
    auto = context(db, tmp_path, b"Auto-Submitted: auto-replied\r\n" + head, uid="2", size=11_000_000,
                   headers_only=True)
    with pytest.raises(RejectMessage) as silent:
        oversized.process(auto)
    assert silent.value.template is None


def test_run_pipeline_records_the_outcome_and_queues_the_reply_of_a_rejection(db, tmp_path):
    head = email().split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    ctx = context(db, tmp_path, head, size=11_000_000, headers_only=True)
    run_pipeline(ctx, OVERSIZED_PIPELINE)
    assert (ctx.row.state, ctx.row.outcome) == ("processed", "rejected")
    (reply,) = ctx.row.replies
    assert (reply.kind, reply.status, reply.to_addr) == ("size_rejection", "pending", "a@aarhus.dk")


def test_pipeline_signals_are_not_exceptions_so_no_stage_can_swallow_them():
    assert issubclass(DuplicateMessage, PipelineSignal) and not issubclass(DuplicateMessage, Exception)
