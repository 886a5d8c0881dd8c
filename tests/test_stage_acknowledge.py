"""Stage `acknowledge`: a complete application gets its acknowledgement, an incomplete one the clarification
request listing each problem; the reply is in the call's language throughout."""

from __future__ import annotations

import hashlib

from stage_support import context, email, through

from config import load_settings
from ingest.demo import application_email, complete_values, to_bytes
from ingest.handlers import acknowledge, application, attachments, find_form, structure, validate_form
from notifications.locale import number_text
from notifications.reply_queue import queue_reply

STAGES = (structure.process, attachments.process, find_form.process, validate_form.process, application.process,
          acknowledge.process)


def test_a_complete_application_is_acknowledged_with_its_reference_and_danish_receipt_time(memory_db, tmp_path):
    ctx = through(context(memory_db, tmp_path, email()), *STAGES)
    (reply,) = ctx.row.replies
    assert reply.kind == "acknowledgement" and reply.subject.startswith("[AD-2019-0001]")
    assert "Vi modtog ansøgningen 2. september 2019 kl. 11.00" in reply.body and "352.751" in reply.body
    assert reply.application is ctx.application and reply.status == "pending"


def test_an_incomplete_application_gets_a_clarification_listing_each_problem(memory_db, tmp_path):
    ctx = through(context(memory_db, tmp_path, email(values=complete_values(population="mange"))), *STAGES)
    (reply,) = ctx.row.replies
    assert reply.kind == "clarification"
    assert "»mange« er ikke et tal. Vi har brug for et helt tal, mindst lige så stort som målgruppen." in reply.body


def test_with_an_english_call_the_reply_is_english_throughout(memory_db, tmp_path):
    settings = load_settings(None)
    settings.call.language = "en"
    ctx = through(context(memory_db, tmp_path, email(values=complete_values(population="mange")),
                          settings=settings), *STAGES)
    (reply,) = ctx.row.replies
    assert '"mange" is not a number. We need a whole number at least as large as the target group.' in reply.body
    assert "2 September 2019 at 11:00" in reply.body and "Dear Mette Jensen" in reply.body
    assert not any(word in reply.body for word in ("Ja", "Nej", "ikke angivet", "Vi har brug for", "Kære"))


def test_the_acknowledgement_is_evidence_each_file_with_its_size_and_sha256_and_the_servers_receipt_time(
        memory_db, tmp_path):
    budget = b"%PDF-1.4\n% budget\n"
    raw = to_bytes(application_email(complete_values(), annexes={"Budget.pdf": budget}))
    ctx = through(context(memory_db, tmp_path, raw), *STAGES)
    (reply,) = ctx.row.replies
    form = ctx.attachments[0]
    listed_form = f"  * {form.filename} (ansøgningsskema, {number_text(form.size)} bytes)\n    SHA-256: {form.sha256}"
    listed_annex = f"  * Budget.pdf (bilag, 18 bytes)\n    SHA-256: {hashlib.sha256(budget).hexdigest()}"
    assert listed_form in reply.body and listed_annex in reply.body
    assert "2. september 2019 kl. 11.00 (det tidspunkt, hvor vores server modtog e-mailen)" in reply.body


def test_replies_queued_earlier_in_the_same_transaction_count_toward_the_rate_limits(memory_db, tmp_path):
    settings = load_settings(None)
    settings.smtp.max_per_recipient_per_hour, settings.smtp.max_per_hour = 2, 3
    ctx = context(memory_db, tmp_path, email(with_form=False), settings=settings)
    queued = [queue_reply(ctx.row, settings, "no_form", {"attachments": []}) for _ in range(2)]
    ctx.row.reply_address = "B@Aarhus.dk"  # another recipient; the overall limit still counts the two above
    queued += [queue_reply(ctx.row, settings, "no_form", {"attachments": []}) for _ in range(2)]
    ctx.row.reply_address = "a@AARHUS.dk"  # the first recipient again, spelt otherwise
    queued.append(queue_reply(ctx.row, settings, "no_form", {"attachments": []}))
    assert [r.status for r in queued if r is not None] == ["pending", "pending", "pending", "held", "held"]
