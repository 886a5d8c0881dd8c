"""Stage `loop_guard` on an in-memory context (SQLite in memory, no servers)."""

from __future__ import annotations

import pytest
from stage_support import context, email

from ingest.errors import IgnoreMessage
from ingest.handlers import loop_guard, structure


def test_loop_guard_stage_ignores_an_auto_reply(memory_db, tmp_path):
    ctx = context(memory_db, tmp_path, email(**{"Auto-Submitted": "auto-replied"}))
    structure.process(ctx)
    with pytest.raises(IgnoreMessage):
        loop_guard.process(ctx)
