"""Operators' duties after a parser fix and under GDPR: `uip-intake reprocess` reads stored forms again and
shows or applies what changed; `uip-intake purge` deletes personal data past the retention period and keeps
an anonymised record. Both on the demo's real mail, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner
from web_support import client_for, sign_in

from cli.main import app
from storage import Application, FieldValueRow, InboundMessage, Reply, Submission
from storage.models import AuditEntry, StaffNote


def cli(bench, *args: str):
    s = bench.settings
    env = {"UIP_INTAKE_DATABASE__URL": s.database.url, "UIP_INTAKE_STORAGE__ARCHIVE_DIR": str(s.storage.archive_dir),
           "UIP_INTAKE_MAILBOX__MAILDIR_PATH": str(s.mailbox.maildir_path),
           "UIP_INTAKE_SMTP__OUTBOX_DIR": str(s.smtp.outbox_dir), "UIP_INTAKE_PARSING__ISOLATE": "false"}
    return CliRunner().invoke(app, list(args), env=env)


def _misread_population(bench, reference: str) -> int:
    """As if an older reader had misread the population: the stored value differs from the form's."""
    with bench.db.session() as session:
        application = session.scalar(select(Application).where(Application.reference == reference))
        row = next(v for v in application.current_submission.values if v.key == "population")
        stored, row.value = row.value, 12
        return stored


def test_reprocess_shows_what_todays_reader_would_change_and_applies_it_as_a_new_version(bench):
    form_value = _misread_population(bench, "AD-2019-0001")
    with bench.db.session() as session:
        replies_before = session.scalar(select(func.count(Reply.id)))
    dry = cli(bench, "reprocess", "AD-2019-0001", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "AD-2019-0001" in dry.output and "population" in dry.output and "12" in dry.output
    with bench.db.session() as session:  # nothing written by a dry run
        versions = select(func.count(Submission.id)).join(Application, Submission.application_id == Application.id)
        assert session.scalar(versions.where(Application.reference == "AD-2019-0001")) == 1
    applied = cli(bench, "reprocess", "AD-2019-0001")
    assert applied.exit_code == 0, applied.output
    with bench.db.session() as session:
        application = session.scalar(select(Application).where(Application.reference == "AD-2019-0001"))
        current = application.current_submission
        assert (current.version, current.reprocessed) == (2, True)
        assert {v.key: v.value for v in current.values}["population"] == form_value
        assert session.scalar(select(func.count(Reply.id))) == replies_before  # nothing sent
        (entry,) = session.scalars(select(AuditEntry).where(AuditEntry.action == "reprocess"))
        assert entry.reference == "AD-2019-0001" and entry.detail["fields"] == ["population"]
    again = cli(bench, "reprocess", "AD-2019-0001")  # today's reader agrees now: no third version
    assert again.exit_code == 0 and "no change" in again.output


def test_reprocess_with_notify_queues_a_reply(bench):
    _misread_population(bench, "AD-2019-0003")
    result = cli(bench, "reprocess", "AD-2019-0003", "--notify")
    assert result.exit_code == 0, result.output
    with bench.db.session() as session:
        pending = list(session.scalars(select(Reply).where(Reply.status == "pending")))
    assert len(pending) == 1 and "[AD-2019-0003]" in pending[0].subject


def test_purge_deletes_personal_data_past_the_retention_period_and_keeps_an_anonymised_record(bench):
    client = client_for(bench)
    token = sign_in(client)
    client.post("/applications/AD-2019-0001/notes", data={"csrf_token": token, "text": "Ring til Mette Jensen"})
    with bench.db.session() as session:
        contact = session.scalar(select(FieldValueRow.value).where(FieldValueRow.key == "contact_email"))
    assert "AD-2019-" in client.get("/queue", params={"q": contact}).text  # the search finds the contact
    archive = Path(bench.settings.storage.archive_dir)
    files_before = [p for p in archive.rglob("*") if p.is_file()]
    dry = cli(bench, "purge", "--older-than", "365", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "11 emails" in dry.output and "7 applications" in dry.output
    assert [p for p in archive.rglob("*") if p.is_file()] == files_before  # a dry run deletes nothing
    done = cli(bench, "purge", "--older-than", "365")
    assert done.exit_code == 0, done.output
    assert [p for p in archive.rglob("*") if p.is_file()] == []
    with bench.db.session() as session:
        messages = list(session.scalars(select(InboundMessage)))
        assert all(m.sender == "" and m.subject == "" and m.raw_sha256 is None and m.purged_at for m in messages)
        assert session.scalar(select(func.count(FieldValueRow.id))) == 0
        assert session.scalars(select(Submission.search_text)).all() == [None] * 7  # nor what the search read
        assert session.scalar(select(func.count(StaffNote.id))) == 0
        kept = {a.reference: (a.municipality, a.status) for a in session.scalars(select(Application))}
        assert kept["AD-2019-0001"] == ("Aarhus Kommune", "complete") and len(kept) == 7
        assert all(r.to_addr == "" and r.body == "" for r in session.scalars(select(Reply)))
        (entry,) = session.scalars(select(AuditEntry).where(AuditEntry.action == "purge"))
        assert entry.detail["messages"] == 11 and entry.detail["applications"] == 7
    assert "Mette" not in client.get("/applications/AD-2019-0001").text
    assert "AD-2019-" not in client.get("/queue", params={"q": contact}).text
    assert client.get("/messages").status_code == 200
    assert cli(bench, "purge", "--older-than", "365").output.count("0 emails") == 1  # nothing left to purge


def test_purge_keeps_what_is_inside_the_retention_period(bench):
    done = cli(bench, "purge", "--older-than", "100000")  # 270 years: everything is recent
    assert done.exit_code == 0 and "0 emails" in done.output
    with bench.db.session() as session:
        assert session.scalar(select(func.count(FieldValueRow.id))) > 0


def test_bundle_writes_one_case_file_or_one_per_application_with_every_sha256_right(bench, tmp_path: Path):
    import hashlib
    import io
    import json
    import zipfile

    one = tmp_path / "AD-2019-0001.zip"
    result = cli(bench, "bundle", "AD-2019-0001", "-o", str(one))
    assert result.exit_code == 0, result.output
    every = cli(bench, "bundle", "--all", "-o", str(tmp_path / "alle"))
    assert every.exit_code == 0, every.output
    with bench.db.session() as session:
        references = sorted(session.scalars(select(Application.reference)))
    assert sorted(p.stem for p in (tmp_path / "alle").glob("*.zip")) == references
    for path in [one, *(tmp_path / "alle").glob("*.zip")]:
        with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as bundle:
            metadata = json.loads(bundle.read("metadata.json"))
            for entry in metadata["files"]:
                assert hashlib.sha256(bundle.read(entry["path"])).hexdigest() == entry["sha256"], entry["path"]
    assert cli(bench, "bundle", "AD-2019-9999", "-o", str(tmp_path / "x.zip")).exit_code == 1
    assert cli(bench, "bundle", "-o", str(tmp_path / "x.zip")).exit_code == 2
