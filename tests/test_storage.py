"""Schema migrations match the models on every backend; the archive is content-addressed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage import Archive
from storage.models import Base


def test_alembic_head_creates_exactly_the_schema_of_the_models(db):
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_migrating_twice_keeps_the_rows_the_revision_and_a_schema_matching_the_models(db):
    from sqlalchemy import func, select

    from storage import InboundMessage
    from storage.models import utcnow
    from storage.staff import record_poll

    with db.session() as session:
        record_poll(session)
        session.add(InboundMessage(folder="INBOX", uidvalidity="1", uid="7", message_id="<m@aarhus.dk>",
                                   dedupe_key="<m@aarhus.dk>", sender="sag@aarhus.dk", subject="Ansøgning", size=10,
                                   raw_sha256="0" * 64, received_at=utcnow()))
    with db.engine.connect() as connection:
        before = MigrationContext.configure(connection).get_current_revision()
    db.migrate()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert context.get_current_revision() == before is not None
        assert compare_metadata(context, Base.metadata) == []
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 1
        assert session.scalars(select(InboundMessage.uid)).one() == "7"


def test_archive_stores_by_digest_and_never_by_a_senders_name(tmp_path):
    archive = Archive(tmp_path)
    digest = archive.put("files", b"hello")
    assert archive.get("files", digest) == b"hello"
    assert archive.put("files", b"hello") == digest
    with pytest.raises(ValueError):
        archive.path("files", "../../etc/passwd")


@pytest.fixture()
def fsyncs(monkeypatch) -> list[tuple[str, str]]:
    """Every fsync from now on, as (the thread's name, the path of what was synced)."""
    import os
    import threading

    synced: list[tuple[str, str]] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append((threading.current_thread().name, os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    return synced


def test_an_archived_file_and_its_name_are_on_disk_before_put_returns(tmp_path, fsyncs):
    """The bytes are fsynced before the rename; after it, the file's directory and the parent of each
    directory made for it (a power cut must not lose the name the database refers to)."""
    import os

    archive = Archive(tmp_path / "archive")
    digest = archive.put("messages", b"raw message")
    target = archive.path("messages", digest)
    synced = [path for _, path in fsyncs]
    assert os.path.basename(synced[0]).startswith(".tmp-")  # the bytes, under their temporary name
    assert synced[1:] == [str(target.parent), str(target.parent.parent), str(target.parent.parent.parent),
                          str(tmp_path / "archive"), str(tmp_path)]
    fsyncs.clear()
    assert archive.put("messages", b"raw message") == digest and fsyncs == []  # there already: nothing written


def test_put_many_stores_every_file_durably_on_several_threads_and_gives_each_digest_in_order(tmp_path, fsyncs):
    import os

    archive = Archive(tmp_path, writers=4)
    datas = [f"message {n}".encode() * 100 for n in range(12)] + [b"message 0" * 100]  # the last one twice
    digests = [future.result() for future in archive.put_many("messages", datas)]
    archive.close()
    assert digests == [Archive(tmp_path).put("messages", data) for data in datas]  # there already: same digest
    assert [archive.get("messages", digest) for digest in digests] == datas
    files = {path for _, path in fsyncs if os.path.basename(path).startswith(".tmp-")}
    assert len(files) >= 12  # each file's bytes fsynced (the twin may be written twice, the same bytes)
    assert {name for name, _ in fsyncs} - {"MainThread"}, "written on the archive's own threads"
    assert all(path in {p for _, p in fsyncs} for path in (str(tmp_path / "messages"), str(tmp_path)))


def test_put_many_gives_each_file_its_own_failure_when_the_archive_cannot_be_written(tmp_path):
    from storage import ArchiveUnavailable

    (tmp_path / "archive").write_text("a file where the archive's directory should be")
    futures = Archive(tmp_path / "archive").put_many("messages", [b"one", b"two", b"three"])
    for future in futures:
        with pytest.raises(ArchiveUnavailable):
            future.result()


def _old_application(conn: Any, versions: int) -> None:
    """Application 1, its message 1 and submissions 1…``versions``, as raw rows any schema since 0002 takes."""
    import sqlalchemy as sa

    now = "2019-09-02 10:00:00"
    conn.execute(sa.text(
        "INSERT INTO application (id, reference, status, late, received_at, created_at, updated_at) "
        f"VALUES (1, 'AD-2019-0001', 'complete', false, '{now}', '{now}', '{now}')"))
    conn.execute(sa.text(
        "INSERT INTO inbound_message (id, folder, uidvalidity, uid, dedupe_key, sender, sender_name, subject, "
        "received_at, size, headers_only, state, attempts, application_id, created_at) VALUES "
        f"(1, 'INBOX', '1', '1', '<a@b>', 'a@b.dk', '', 's', '{now}', 10, false, 'processed', 0, 1, '{now}')"))
    for version in range(1, versions + 1):
        conn.execute(sa.text(
            "INSERT INTO submission (id, application_id, message_id, reader, complete, version, after_deadline, "
            f"created_at) VALUES ({version}, 1, 1, 'docx', true, {version}, false, '{now}')"))


def test_upgrading_a_database_holding_applications_keeps_every_row_and_link(db_url):
    """0002 → head rebuilds `application` on SQLite, which other tables point at: no row may be lost or orphaned."""
    import sqlalchemy as sa
    from alembic import command

    from storage import Database
    from storage.database import alembic_config

    database = Database(db_url)
    command.upgrade(alembic_config(database.engine), "0002")
    with database.engine.begin() as conn:
        _old_application(conn, versions=1)
        conn.execute(sa.text("UPDATE application SET current_submission_id = 1"))
    database.migrate()
    with database.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT reference, current_submission_id, selected FROM application")).all() == [
            ("AD-2019-0001", 1, False)]
        assert conn.execute(sa.text("SELECT application_id FROM inbound_message")).scalar() == 1
        if database.engine.dialect.name == "sqlite":
            assert conn.execute(sa.text("PRAGMA foreign_key_check")).all() == []
            assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
    database.dispose()


def test_upgrading_to_0010_stores_what_the_search_reads_of_every_version_kept(db_url):
    """Versions stored before 0010 get the partners' municipalities and the contact's address from their field
    values; a version whose values retention deleted keeps none."""
    import sqlalchemy as sa
    from alembic import command

    from storage import Database
    from storage.database import alembic_config

    database = Database(db_url)
    command.upgrade(alembic_config(database.engine), "0009")
    with database.engine.begin() as conn:
        _old_application(conn, versions=2)
        for key, value in (("partners", [{"municipality": "Fredericia Kommune", "population": 51000}]),
                           ("contact_email", "Mette.Jensen@Aarhus.dk"), ("population", 352751)):
            conn.execute(sa.text("INSERT INTO field_value (submission_id, key, value, raw, source) "
                                 "VALUES (1, :key, :value, '', '')"), {"key": key, "value": json.dumps(value)})
    database.migrate()
    with database.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT id, search_text FROM submission ORDER BY id")).all() == [
            (1, "fredericia kommune mette.jensen@aarhus.dk"), (2, None)]
    database.dispose()


def test_reasons_problems_and_refusals_written_as_text_before_0006_read_as_legacy_codes_and_downgrade_back(db_url):
    """0006 turns the sentences into codes: old rows keep their words (code ``legacy``), none is lost."""
    import sqlalchemy as sa
    from alembic import command

    from notifications.locale import problem_text, reason_text, refusal_text
    from storage import Database
    from storage.database import alembic_config
    from storage.models import Attachment, InboundMessage, ProblemRow

    database = Database(db_url)
    config = alembic_config(database.engine)
    command.upgrade(config, "0005")
    now = "2019-09-02 10:00:00"
    with database.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO inbound_message (id, folder, uidvalidity, uid, dedupe_key, sender, sender_name, subject, "
            "received_at, size, headers_only, state, outcome, reason, attempts, created_at) VALUES "
            f"(1, 'INBOX', '1', '1', '<a@b>', 'a@b.dk', '', 's', '{now}', 10, false, 'processed', 'rejected', "
            f"'no attachments', 0, '{now}')"))
        conn.execute(sa.text(
            "INSERT INTO application (id, reference, status, late, received_at, created_at, updated_at, selected, "
            f"edit_version) VALUES (1, 'AD-2019-0001', 'complete', false, '{now}', '{now}', '{now}', false, 0)"))
        conn.execute(sa.text(
            "INSERT INTO submission (id, application_id, message_id, reader, complete, version, after_deadline, "
            f"created_at, reprocessed) VALUES (1, 1, 1, 'docx', false, 1, false, '{now}', false)"))
        conn.execute(sa.text("INSERT INTO problem (id, submission_id, field, label, message) VALUES "
                             "(1, 1, 'cvr', '1.5 CVR-nummer', '»1« er ikke et CVR-nummer på 8 cifre')"))
        conn.execute(sa.text(
            "INSERT INTO attachment (id, message_id, filename, content_type, size, sha256, role, note) VALUES "
            "(1, 1, 'a.docm', 'application/octet-stream', 3, '', 'unreadable', 'Filen »a.docm« har makroer.')"))
    database.migrate()
    with database.session() as session:
        message = session.get(InboundMessage, 1)
        problem = session.get(ProblemRow, 1)
        attachment = session.get(Attachment, 1)
        assert message is not None and problem is not None and attachment is not None
        assert reason_text(message.reason) == "no attachments"
        assert problem_text(problem.problem()) == "»1« er ikke et CVR-nummer på 8 cifre"
        assert refusal_text(attachment.refusal or {}) == "Filen »a.docm« har makroer."
    command.downgrade(config, "0005")
    with database.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT reason FROM inbound_message")).scalar() == "no attachments"
        assert conn.execute(sa.text("SELECT message FROM problem")).scalar() == "»1« er ikke et CVR-nummer på 8 cifre"
        assert conn.execute(sa.text("SELECT note FROM attachment")).scalar() == "Filen »a.docm« har makroer."
    database.dispose()


def test_the_reference_counter_starts_after_references_made_before_it_and_reads_them_only_then(db):
    from datetime import UTC, datetime

    from sqlalchemy import event

    from storage import Application
    from storage.coordination import next_reference
    from storage.states import ApplicationStatus

    with db.session() as session:
        session.add(Application(reference="AD-2019-0007", status=ApplicationStatus.COMPLETE, late=False,
                                received_at=datetime(2019, 9, 2, tzinfo=UTC)))
    scans: list[str] = []

    def seen(conn, cursor, statement, *args):  # the scan of every reference made so far
        if "application.reference LIKE" in statement:
            scans.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        with db.session() as session:
            first = next_reference(session, "AD", 2019)
        with db.session() as session:
            second = next_reference(session, "AD", 2019)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert (first, second) == ("AD-2019-0008", "AD-2019-0009")
    assert len(scans) == 1  # when the counter was made, not for every application after it
