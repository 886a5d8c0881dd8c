"""CPython's own email test corpus (``msg_*.txt``, Debian's ``libpython3.11-testsuite``) through the real
pipeline against Dovecot and aiosmtpd: every message is recorded with an outcome, none crashes the worker,
and feeding every reply we sent back into the mailbox produces no further reply (no loop)."""

from __future__ import annotations

import glob
from collections import Counter
from datetime import UTC, datetime

import pytest
from servers import REQUIRE_SERVERS
from sqlalchemy import select

from storage import InboundMessage

pytestmark = pytest.mark.servers
CORPUS = sorted(glob.glob("/usr/lib/python3*/test/test_email/data/msg_*.txt"))
OUTCOMES = {"application", "follow_up", "rejected", "ignored", "duplicate", "quarantined"}


@pytest.fixture()
def corpus() -> list[str]:
    if not CORPUS:
        message = "CPython's email corpus is not installed (Debian package libpython3.11-testsuite)"
        if REQUIRE_SERVERS:
            pytest.fail(message)
        pytest.skip(message)
    return CORPUS


def test_cpythons_email_corpus_is_recorded_with_an_outcome_and_never_loops(intake, imap, smtp, corpus):
    sink, _ = smtp
    when = datetime(2019, 9, 2, 9, 0, tzinfo=UTC)
    for path in corpus:
        with open(path, "rb") as fh:
            imap.append("INBOX", fh.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"), msg_time=when)
    report = intake.poll_once()
    assert report.errors == 0 and report.parked == 0
    with intake.db.session() as session:
        messages = list(session.scalars(select(InboundMessage)))
    assert len(messages) == len(corpus)
    assert all(m.state == "processed" and m.outcome in OUTCOMES for m in messages), Counter(
        (m.state, m.outcome, m.error) for m in messages)
    imap.select_folder("INBOX", readonly=True)
    assert imap.search("ALL") == []
    print(f"CPython email corpus: {len(corpus)} messages, outcomes {dict(Counter(m.outcome for m in messages))}, "
          f"{len(sink.messages)} replies")
    # our replies come back (a forwarding rule, an auto-forward): each is recognised, none is answered
    replies = list(sink.messages)
    sink.clear()
    for reply in replies:
        imap.append("INBOX", reply.as_bytes(), msg_time=when)
    intake.poll_once()
    assert sink.messages == []
    with intake.db.session() as session:
        returned = list(session.scalars(select(InboundMessage).where(InboundMessage.id > max(m.id for m in messages))))
    assert len(returned) == len(replies) and {m.outcome for m in returned} <= {"ignored"}
