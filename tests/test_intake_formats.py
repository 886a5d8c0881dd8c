"""Every format and every hostile file through the real path: Dovecot, the bounded parser, aiosmtpd."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from form_corpus import FIXTURES, HOSTILE, tnef
from sqlalchemy import select
from test_form_corpus import require_libreoffice

from ingest.demo import application_email, complete_values, to_bytes
from parsers.blank_form import fill_form
from storage import Application, InboundMessage, Reply

pytestmark = pytest.mark.servers
ON_TIME = datetime(2019, 9, 2, 9, 0, tzinfo=UTC)


def test_hostile_files_get_their_rejection_reply_while_the_same_poll_processes_the_rest(intake, imap, smtp):
    require_libreoffice()
    sink, _ = smtp
    for n, hostile in enumerate(HOSTILE):
        raw = to_bytes(application_email(None, annexes={hostile.filename: hostile.build()},
                                         sender=f"Kommune {n} <k{n}@kommune{n}.dk>", message_id=f"<hostile-{n}@x.dk>"))
        imap.append("INBOX", raw, msg_time=ON_TIME)
    doc = next(f for f in FIXTURES if f.name == "Word 97-2003 .doc with legacy fields").build()
    pdf = next(f for f in FIXTURES if f.name == "PDF export, typed").build()
    good = {
        "<docx@aarhus.dk>": application_email(complete_values()),
        "<doc@odder.dk>": application_email(None, annexes={"Ansøgning.doc": doc}),
        "<pdf@vejle.dk>": application_email(None, annexes={"Ansøgning.pdf": pdf}),
        "<tnef@viborg.dk>": application_email(None, annexes={"winmail.dat": tnef({"Ansoegning.docx": fill_form(
            complete_values())})}),
    }
    for message_id, message in good.items():
        message.replace_header("Message-ID", message_id)
        imap.append("INBOX", to_bytes(message), msg_time=ON_TIME)

    report = intake.poll_once()

    assert report.errors == 0 and report.seen == len(HOSTILE) + len(good)
    with intake.db.session() as session:
        rows = {r.message_id: r for r in session.scalars(select(InboundMessage))}
        for n, hostile in enumerate(HOSTILE):
            row = rows[f"<hostile-{n}@x.dk>"]
            assert (row.state, row.outcome) == ("processed", "rejected"), hostile.name
            assert hostile.code in {f["code"] for f in row.reason.params["files"]}, (hostile.name, row.reason)
            (reply,) = row.replies
            assert reply.kind == "rejection" and reply.status == "sent"
            assert hostile.words in reply.body and f"»{hostile.filename}«" in reply.body
            assert [a.role for a in row.attachments] == ["unreadable"]
        for message_id in good:
            row = rows[message_id]
            assert row.outcome == "application", (message_id, row.reason)
            assert row.application.status == "complete", message_id
            assert row.replies[0].kind == "acknowledgement"
        assert len(session.scalars(select(Application)).all()) == len(good)
        assert session.scalars(select(Reply).where(Reply.status != "sent")).all() == []
    assert len(sink.messages) == len(HOSTILE) + len(good)
