"""Hostile structure is refused from the raw bytes before the email package builds a tree for it, and the
embedded Maildir moves any message without parsing it again (a nesting too deep for the parser once crashed
the whole poll there)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from config import load_settings
from ingest import message_reading
from ingest.message_reading import MessageStructureError, read_message
from ingest.poller import Intake
from storage import InboundMessage
from storage.states import Outcome

sys.path.insert(0, str(Path(__file__).resolve().parent / "benchmarks"))
from hostile import deep_nesting, tiny_parts  # the bench's hostile set, shared


def _parts(count: int) -> bytes:
    part = b"--p\r\nContent-Type: text/plain\r\n\r\nx\r\n"
    return (b"From: a@aarhus.dk\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
            b"boundary=\"p\"\r\n\r\n" + part * count + b"--p--\r\n")


def test_ten_megabytes_of_tiny_parts_are_refused_before_the_parser_sees_them(monkeypatch):
    def no_parser(*args: object, **kwargs: object) -> None:
        raise AssertionError("the message was handed to the parser")

    monkeypatch.setattr(message_reading, "BytesFeedParser", no_parser)
    with pytest.raises(MessageStructureError) as refused:
        read_message(tiny_parts())
    assert refused.value.code == "too_many_parts"


def test_the_part_limit_counts_delimiter_lines_exactly_enough_to_keep_a_message_at_the_limit():
    assert len(read_message(_parts(998)).get_payload()) == 998
    with pytest.raises(MessageStructureError):
        read_message(_parts(1_100))


def test_the_embedded_maildir_quarantines_hostile_structure_and_moves_it_without_parsing_it_again(tmp_path):
    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1.deep.eml").write_bytes(deep_nesting(900))  # within the part limit, too deep to parse
    (maildir / "new" / "2.tiny.eml").write_bytes(tiny_parts())
    settings = load_settings(None, mailbox={"protocol": "maildir", "maildir_path": str(maildir)},
                             smtp={"transport": "file", "outbox_dir": str(tmp_path / "outbox")},
                             database={"url": f"sqlite:///{tmp_path}/db.sqlite"},
                             storage={"archive_dir": str(tmp_path / "archive")}, parsing={"isolate": False})
    intake = Intake.from_settings(settings)
    intake.db.migrate()
    try:
        report = intake.poll_once()
        assert report.errors == 0
        with intake.db.session() as session:
            rows = session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
            assert [(r.outcome, (r.reason_params or {}).get("limit")) for r in rows] == [
                (Outcome.QUARANTINED, "too_deep"), (Outcome.QUARANTINED, "too_many_parts")]
    finally:
        intake.close()
    assert list((maildir / "new").iterdir()) == [] and list((maildir / "cur").iterdir()) == []
