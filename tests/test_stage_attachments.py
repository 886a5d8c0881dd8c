"""Stage `attachments`: every attached file, also inside a forwarded email, is recorded as an annex by the
digest it was archived under; its bytes stay on the context for the form finder."""

from __future__ import annotations

import hashlib
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

from stage_support import context, email, through

from ingest.demo import application_email, complete_values, to_bytes
from ingest.handlers import attachments, structure


def test_every_file_is_archived_by_digest_and_recorded_as_an_annex(memory_db, tmp_path):
    raw = to_bytes(application_email(complete_values(), annexes={"Budget.pdf": b"%PDF-1.4\n% budget\n"}))
    ctx = through(context(memory_db, tmp_path, raw), structure.process, attachments.process)
    assert [part.sha256 for part in ctx.attachment_parts] == [a.sha256 for a in ctx.attachments]
    assert [(a.filename, a.role) for a in ctx.attachments] == [("Ansøgningsskema Åben Dialog.docx", "annex"),
                                                               ("Budget.pdf", "annex")]
    budget = ctx.attachments[1]
    assert budget.sha256 == hashlib.sha256(b"%PDF-1.4\n% budget\n").hexdigest() and budget.size == 18
    assert ctx.archive.get("files", budget.sha256) == ctx.attachment_parts[1].data == b"%PDF-1.4\n% budget\n"
    assert ctx.row.attachments == ctx.attachments


def test_a_file_inside_a_forwarded_email_is_found(memory_db, tmp_path):
    forwarded = EmailMessage()
    forwarded["From"], forwarded["Subject"] = "kollega@aarhus.dk", "VS: ansøgning"
    forwarded.set_content("Se vedhæftede.")
    forwarded.add_attachment(message_from_bytes(email(), policy=default))
    ctx = through(context(memory_db, tmp_path, to_bytes(forwarded)), structure.process, attachments.process)
    assert [a.filename for a in ctx.attachments] == ["Ansøgningsskema Åben Dialog.docx"]


def test_an_email_without_files_records_none(memory_db, tmp_path):
    ctx = through(context(memory_db, tmp_path, email(with_form=False)), structure.process, attachments.process)
    assert ctx.attachments == [] and ctx.attachment_parts == []
