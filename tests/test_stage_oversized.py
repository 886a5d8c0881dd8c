"""Stage `oversized` on an in-memory context (SQLite in memory, no servers)."""

from __future__ import annotations

import pytest
from stage_support import context, email

from ingest.errors import RejectMessage
from ingest.handlers import oversized


def test_oversized_stage_rejects_with_a_reply_unless_the_loop_rules_forbid_it(memory_db, tmp_path):
    head = email().split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    ctx = context(memory_db, tmp_path, head, size=11_000_000, headers_only=True)
    with pytest.raises(RejectMessage) as rejected:
        oversized.process(ctx)
    assert rejected.value.template == "size_rejection" and rejected.value.context["size"] == ctx.row.size
    auto = context(memory_db, tmp_path, b"Auto-Submitted: auto-replied\r\n" + head, uid="2", size=11_000_000,
                   headers_only=True)
    with pytest.raises(RejectMessage) as silent:
        oversized.process(auto)
    assert silent.value.template is None
