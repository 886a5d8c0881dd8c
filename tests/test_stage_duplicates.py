"""Stage `duplicates` on an in-memory context (SQLite in memory, no servers)."""

from __future__ import annotations

import pytest
from stage_support import context, email

from ingest.errors import DuplicateMessage
from ingest.handlers import duplicates


def test_duplicates_stage_stops_the_same_email_and_lets_a_reused_id_with_other_content_through(memory_db, tmp_path):
    raw = email()
    first = context(memory_db, tmp_path, raw)
    first.row.state, first.row.outcome = "processed", "application"
    first.session.commit()
    again = context(memory_db, tmp_path, b"Received: from relay-2\r\n" + raw, uid="2")  # redelivered
    with pytest.raises(DuplicateMessage):
        duplicates.process(again)
    assert again.row.duplicate_of_id == first.row.id
    other = context(memory_db, tmp_path, raw.replace(b"Hermed vores", b"Her er vores"), uid="3")
    duplicates.process(other)  # no signal: a new email that reuses the Message-ID
    assert other.row.id_collision_of_id == first.row.id
