"""Stage `structure` on an in-memory context (SQLite in memory, no servers)."""

from __future__ import annotations

import pytest
from stage_support import context

from ingest.errors import QuarantineMessage
from ingest.handlers import structure


def test_structure_stage_quarantines_a_message_nested_too_deep_and_answers_it(memory_db, tmp_path):
    deep = (b"From: a@aarhus.dk\r\nMessage-ID: <d@aarhus.dk>\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"
            + b"".join(b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1)
                       for i in range(40)))
    ctx = context(memory_db, tmp_path, deep)
    with pytest.raises(QuarantineMessage) as stopped:
        structure.process(ctx)
    assert stopped.value.template == "quarantined" and stopped.value.reason.params["limit"] == "too_deep"
