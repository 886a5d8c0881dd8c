"""Stage `find_form`: the attachment that reads as the form is the form; otherwise the sender is told why —
no files, no form among them, a file that must not be opened — and an answer without a form follows up its
application with a receipt."""

from __future__ import annotations

import os

import pytest
from form_corpus import hostile_zip
from stage_support import WHEN, context, email, through

from ingest.demo import application_email, to_bytes
from ingest.errors import FollowUpMessage, RejectMessage
from ingest.handlers import attachments, find_form, structure
from storage import Application
from storage.reasons import ReasonCode, ThreadMatch


def _ready(memory_db, tmp_path, raw: bytes, uid: str = "1"):
    return through(context(memory_db, tmp_path, raw, uid=uid), structure.process, attachments.process)


def test_the_form_is_found_read_and_marked(memory_db, tmp_path):
    ctx = through(_ready(memory_db, tmp_path, email()), find_form.process)
    assert ctx.form is not None and ctx.form.record.get("municipality") == "Aarhus Kommune"
    assert ctx.form_attachment is not None and ctx.form_attachment.role == "form"


def test_no_files_and_no_form_get_the_no_form_reply_with_their_own_reason(memory_db, tmp_path):
    with pytest.raises(RejectMessage) as none:
        find_form.process(_ready(memory_db, tmp_path, email(with_form=False)))
    assert (none.value.reason.code, none.value.template) == (ReasonCode.NO_ATTACHMENTS, "no_form")
    raw = to_bytes(application_email(None, message_id="<b@aarhus.dk>", annexes={"Budget.txt": b"budget 2019"}))
    with pytest.raises(RejectMessage) as annex_only:
        find_form.process(_ready(memory_db, tmp_path, raw, uid="2"))
    assert annex_only.value.reason.code == ReasonCode.NO_FORM
    assert annex_only.value.context["attachments"] == ["Budget.txt"]


def test_a_macro_document_is_refused_recorded_on_the_attachment_and_named_in_the_reply(memory_db, tmp_path):
    macros = hostile_zip(add={"word/vbaProject.bin": os.urandom(512)})
    raw = to_bytes(application_email(None, annexes={"skema.docm": macros}))
    ctx = _ready(memory_db, tmp_path, raw)
    with pytest.raises(RejectMessage) as refused:
        find_form.process(ctx)
    assert refused.value.template == "unreadable" and refused.value.reason.code == ReasonCode.FORM_UNREADABLE
    (file,) = refused.value.reason.params["files"]
    assert (file["filename"], file["code"]) == ("skema.docm", "macro")
    (attachment,) = ctx.attachments
    assert attachment.role == "unreadable" and attachment.refusal == file
    assert refused.value.context["unreadable"] == [file]


def test_an_answer_without_a_form_follows_up_its_application_with_a_receipt(memory_db, tmp_path):
    ctx = _ready(memory_db, tmp_path, email(with_form=False))
    application = Application(reference="AD-2019-0003", status="needs_clarification", late=False, received_at=WHEN)
    ctx.session.add(application)
    ctx.thread, ctx.thread_found_by = application, ThreadMatch.REFERENCE
    with pytest.raises(FollowUpMessage) as follow_up:
        find_form.process(ctx)
    assert follow_up.value.template == "receipt" and follow_up.value.application is application
    assert follow_up.value.reason.params == {"reference": "AD-2019-0003", "found_by": "reference"}
    assert ctx.row.application is application
