"""The case file for the Board's case system: every file in it matches the SHA-256 its metadata.json states,
every email in and out is there as .eml, the form and annexes byte for byte, and summary.pdf is a PDF with
the record; the CLI writes one zip or one per application, and staff download it (audited)."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

from stage_support import context, through

from config import load_settings
from ingest.demo import application_email, complete_values, to_bytes
from ingest.pipeline import PIPELINE, run_pipeline
from notifications.case_file import build_case_file, round_name
from storage.queries import get_application

BUDGET = b"%PDF-1.4\n% budget\n"


def _application(memory_db, tmp_path):
    raw = to_bytes(application_email(complete_values(population=None), annexes={"Budget.pdf": BUDGET}))
    ctx = context(memory_db, tmp_path, raw)
    ctx.row.raw_sha256 = ctx.archive.put("messages", raw)
    through(ctx, lambda c: run_pipeline(c, PIPELINE))
    ctx.session.commit()
    return ctx, raw


def test_every_file_in_the_case_file_matches_the_sha256_in_its_metadata(memory_db, tmp_path):
    ctx, raw = _application(memory_db, tmp_path)
    settings = load_settings(None)
    application = get_application(ctx.session, ctx.application.reference)
    data = build_case_file(application, ctx.archive, settings.smtp.sender, round_name(settings, application))
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        metadata = json.loads(bundle.read("metadata.json"))
        names = set(bundle.namelist()) - {"metadata.json"}
        assert {entry["path"] for entry in metadata["files"]} == names
        for entry in metadata["files"]:
            content = bundle.read(entry["path"])
            assert hashlib.sha256(content).hexdigest() == entry["sha256"] and len(content) == entry["size"]
        roles = {entry["role"]: entry for entry in metadata["files"]}
        assert set(roles) == {"inbound_mail", "reply", "form", "annex", "summary"}
        assert bundle.read(roles["inbound_mail"]["path"]) == raw  # the email exactly as it arrived
        assert bundle.read(roles["annex"]["path"]) == BUDGET
        reply = bundle.read(roles["reply"]["path"])
        assert roles["reply"]["direction"] == "out" and b"In-Reply-To:" in reply and b"Auto-Submitted:" in reply
        assert bundle.read("summary.pdf").startswith(b"%PDF-")
    assert metadata["reference"] == "AD-2019-0001" and metadata["round"] == "AD-2019"
    assert (metadata["municipality"], metadata["municipality_code"], metadata["cvr"]) == (
        "Aarhus Kommune", "751", "55133018")
    assert metadata["status"] == "needs_clarification" and metadata["decision"] == {"outcome": "none"}
    assert metadata["received_at"].startswith("2019-09-02T09:00")


def test_the_summary_pdf_carries_the_record_with_danish_labels_and_the_problems(memory_db, tmp_path):
    import pdfplumber

    ctx, _ = _application(memory_db, tmp_path)
    settings = load_settings(None)
    application = get_application(ctx.session, ctx.application.reference)
    data = build_case_file(application, ctx.archive, settings.smtp.sender, round_name(settings, application))
    with zipfile.ZipFile(io.BytesIO(data)) as bundle, pdfplumber.open(io.BytesIO(bundle.read("summary.pdf"))) as pdf:
        text = "\n".join(page.extract_text() or "" for page in pdf.pages)
    assert "Sagsresumé AD-2019-0001: Aarhus Kommune" in text
    assert "1.1 Ansøgende kommune" in text and "Feltet er ikke udfyldt." in text
    assert "Korrespondance" in text and "(anmodning om oplysninger, afventer afsendelse)" in text
    assert "clarification" not in text and "pending" not in text  # the kind and status in Danish
