"""The whole path against real servers: Dovecot (IMAP), aiosmtpd (SMTP), SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from imapclient import IMAPClient
from servers import SmtpSink
from sqlalchemy import select
from typer.testing import CliRunner

from cli.main import app
from config import Settings
from ingest.demo import application_email, complete_values, sized_email, to_bytes
from ingest.errors import MailboxError
from ingest.mailbox import open_mailbox
from ingest.message_reader import InlineReader
from ingest.poller import Intake
from parsers.file_safety import FileKind
from parsers.form_file import Parse, ParseOptions, parse_form
from parsers.form_record import FormRecord
from storage import Application, InboundMessage, Reply

pytestmark = pytest.mark.servers
ON_TIME = datetime(2019, 9, 2, 9, 0, tzinfo=UTC)
TEN_MIB = 10 * 1024 * 1024


def folder_uids(client: IMAPClient, folder: str) -> list[int]:
    if not client.folder_exists(folder):
        return []
    client.select_folder(folder, readonly=True)
    return client.search("ALL")


def cli_json(settings_env: dict[str, str], *args: str) -> object:
    result = CliRunner().invoke(app, list(args), env=settings_env)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def env_for(intake: Intake) -> dict[str, str]:
    return env_of(intake.settings)


def env_of(s: Settings) -> dict[str, str]:
    """The environment that gives a `uip-intake` process these settings' mailbox, relay, database and archive."""
    return {
        "UIP_INTAKE_MAILBOX__PROTOCOL": "imap", "UIP_INTAKE_MAILBOX__HOST": s.mailbox.host,
        "UIP_INTAKE_MAILBOX__PORT": str(s.mailbox.port), "UIP_INTAKE_MAILBOX__SECURITY": "none",
        "UIP_INTAKE_MAILBOX__USERNAME": s.mailbox.username,
        "UIP_INTAKE_MAILBOX__PASSWORD": s.mailbox.password.get_secret_value(),
        "UIP_INTAKE_SMTP__TRANSPORT": "smtp", "UIP_INTAKE_SMTP__HOST": s.smtp.host,
        "UIP_INTAKE_SMTP__PORT": str(s.smtp.port), "UIP_INTAKE_SMTP__SECURITY": "none",
        "UIP_INTAKE_DATABASE__URL": s.database.url, "UIP_INTAKE_STORAGE__ARCHIVE_DIR": str(s.storage.archive_dir),
    }


def test_every_kind_of_email_ends_in_exactly_one_outcome_with_the_right_reply(intake, imap, smtp):
    sink, _ = smtp
    complete = to_bytes(application_email(complete_values(), message_id="<complete@aarhus.dk>"))
    incomplete = to_bytes(application_email(
        complete_values(municipality="Odense", population=None, director_approved=False),
        sender="Lone <lone@odense.dk>", message_id="<incomplete@odense.dk>"))
    just_under = sized_email(9_900_000, sender="Jan <jan@vejle.dk>", message_id="<big-ok@vejle.dk>")
    at_limit = sized_email(TEN_MIB, sender="Eva <eva@vejen.dk>", message_id="<at-limit@vejen.dk>")
    over = sized_email(TEN_MIB + 1, sender="Sofie <sofie@horsens.dk>", message_id="<too-big@horsens.dk>")
    for raw in (complete, incomplete, just_under, at_limit, over, complete):
        imap.append("INBOX", raw, msg_time=ON_TIME)

    report = intake.poll_once()
    assert report.errors == 0
    assert report.outbox is not None and report.outbox.sent == 5

    messages = cli_json(env_for(intake), "messages", "--json")
    by_id = {}
    for m in messages:
        by_id.setdefault(m["message_id"], []).append(m)
    assert [m["outcome"] for m in by_id["<complete@aarhus.dk>"]] == ["application", "duplicate"]
    assert by_id["<complete@aarhus.dk>"][1]["replies"] == []
    assert by_id["<incomplete@odense.dk>"][0]["replies"][0]["kind"] == "clarification"
    assert by_id["<big-ok@vejle.dk>"][0]["outcome"] == "application"
    assert by_id["<at-limit@vejen.dk>"][0]["outcome"] == "application"
    (rejected,) = by_id["<too-big@horsens.dk>"]
    assert rejected["outcome"] == "rejected" and rejected["size"] == TEN_MIB + 1
    assert rejected["replies"][0]["kind"] == "size_rejection" and rejected["replies"][0]["status"] == "sent"
    assert {r["status"] for m in messages for r in m["replies"]} == {"sent"}

    queue = cli_json(env_for(intake), "queue", "--json")
    assert [a["status"] for a in queue] == ["complete", "needs_clarification", "complete", "complete"]
    odense = queue[1]
    assert odense["municipality"] == "Odense Kommune" and odense["fields"]["municipality_code"] == "461"
    assert {p["field"] for p in odense["problems"]} == {"population", "director_approved"}
    assert all(p["label"] and p["code"] for p in odense["problems"])

    assert len(sink.messages) == 5
    subjects = [m["Subject"] for m in sink.messages]
    assert any(s.startswith("[AD-2019-0001] Kvittering") for s in subjects)
    assert any(s.startswith("[AD-2019-0002] Manglende oplysninger") for s in subjects)
    assert any("for stor" in s for s in subjects)
    assert sorted(to for _, tos in sink.envelopes for to in tos).count("mette.jensen@aarhus.dk") == 1
    for m in sink.messages:
        assert m["Auto-Submitted"] == "auto-replied" and m["In-Reply-To"]

    assert folder_uids(imap, "INBOX") == []
    assert len(folder_uids(imap, "Processed")) == 5
    assert len(folder_uids(imap, "Rejected")) == 1
    imap.select_folder("Processed", readonly=True)
    flags = imap.get_flags(imap.search("ALL"))
    assert all(b"\\Seen" not in f for f in flags.values()), "fetching must not mark mail as read"


def test_oversized_email_is_judged_on_its_size_and_headers_without_downloading_the_body(intake, imap, smtp):
    imap.append("INBOX", sized_email(TEN_MIB + 1, message_id="<huge@kommune.dk>"), msg_time=ON_TIME)
    fetched: list[str] = []

    class Spy:
        def __init__(self, box):
            self.box, self.folder, self.uidvalidity = box, box.folder, box.uidvalidity

        def entries(self):
            return self.box.entries()

        def fetch_header(self, uid):
            fetched.append("header")
            return self.box.fetch_header(uid)

        def fetch_many(self, uids):
            fetched.extend("body" for _ in uids)
            return self.box.fetch_many(uids)

        def move_many(self, uids, folder):
            return self.box.move_many(uids, folder)

    from contextlib import contextmanager

    @contextmanager
    def spying(mailbox_settings):
        with open_mailbox(mailbox_settings) as box:
            yield Spy(box)

    intake.mailbox_factory = spying
    intake.poll_once()
    assert fetched == ["header"]
    with intake.db.session() as session:
        row = session.scalars(select(InboundMessage)).one()
        assert row.headers_only and row.outcome == "rejected"
        assert intake.archive.path("messages", row.raw_sha256).stat().st_size < 10_000
    assert len(smtp[0].messages) == 1


def test_crash_after_commit_before_move_gives_no_second_application_or_reply(intake, imap, smtp):
    imap.append("INBOX", to_bytes(application_email(complete_values())), msg_time=ON_TIME)
    real_factory = intake.mailbox_factory
    from contextlib import contextmanager

    @contextmanager
    def move_crashes(mailbox_settings):
        with real_factory(mailbox_settings) as box:
            box.move_many = lambda uids, folder: (_ for _ in ()).throw(ConnectionResetError("killed before MOVE"))
            yield box

    intake.mailbox_factory = move_crashes
    with pytest.raises(MailboxError):
        intake.poll_once()
    assert len(folder_uids(imap, "INBOX")) == 1  # still there: nothing lost

    intake.mailbox_factory = real_factory
    report = intake.poll_once()
    assert report.processed == 0 and report.moved == 1
    with intake.db.session() as session:
        assert len(session.scalars(select(Application)).all()) == 1
        assert len(session.scalars(select(InboundMessage)).all()) == 1
        assert len(session.scalars(select(Reply)).all()) == 1
    assert len(smtp[0].messages) == 1
    assert folder_uids(imap, "INBOX") == []


def test_smtp_outage_keeps_the_reply_pending_and_sends_it_once_when_back(intake, imap, smtp):
    sink, _ = smtp
    sink.fail_with = "451 4.3.0 try again later"
    imap.append("INBOX", to_bytes(application_email(complete_values())), msg_time=ON_TIME)
    report = intake.poll_once()
    assert report.outbox is not None and report.outbox.deferred == 1
    with intake.db.session() as session:
        reply = session.scalars(select(Reply)).one()
        assert reply.status == "pending" and reply.attempts == 1 and "451" in (reply.last_error or "")
        first_id = reply.message_id_header
    sink.fail_with = None
    later = datetime.now(UTC) + timedelta(hours=3)
    from notifications import send_pending

    assert send_pending(intake.db, intake.transport, intake.settings.smtp.sender, 8, now=later).sent == 1
    assert send_pending(intake.db, intake.transport, intake.settings.smtp.sender, 8, now=later).sent == 0
    assert [m["Message-ID"].strip() for m in sink.messages] == [first_id]


def test_a_failing_stage_leaves_the_message_in_the_inbox_in_a_visible_error_state(intake, imap, smtp, monkeypatch):
    imap.append("INBOX", to_bytes(application_email(complete_values(), message_id="<x@k.dk>")), msg_time=ON_TIME)

    def broken(ctx, stages):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("ingest.process_step.run_pipeline", broken)
    report = intake.poll_once()
    assert report.errors == 1
    with intake.db.session() as session:
        row = session.scalars(select(InboundMessage)).one()
        assert row.state == "error" and "disk on fire" in (row.error or "") and row.raw_sha256
        assert intake.archive.path("messages", row.raw_sha256).exists()
    assert len(folder_uids(imap, "INBOX")) == 1
    monkeypatch.undo()
    report = intake.poll_once()
    assert report.errors == 0 and report.outcomes == {"application": 1}
    assert len(smtp[0].messages) == 1


def test_lateness_follows_the_internaldate_in_danish_time(intake, imap, smtp):
    before = datetime(2019, 9, 9, 9, 59, 59, tzinfo=UTC)  # 11:59:59 in Copenhagen (CEST)
    after = datetime(2019, 9, 9, 10, 0, 1, tzinfo=UTC)  # 12:00:01
    imap.append("INBOX", to_bytes(application_email(complete_values(), message_id="<a@k.dk>")), msg_time=before)
    imap.append("INBOX", to_bytes(application_email(complete_values(), message_id="<b@k.dk>")), msg_time=after)
    intake.poll_once()
    queue = cli_json(env_for(intake), "queue", "--json")
    assert [(a["message_ids"], a["late"]) for a in queue] == [(["<a@k.dk>"], False), (["<b@k.dk>"], True)]
    late_ack = next(m for m in smtp[0].messages if m["In-Reply-To"] == "<b@k.dk>")
    assert "efter ansøgningsfristen" in late_ack.get_body(("plain",)).get_content()


def test_cli_poll_once_runs_one_cycle_and_exits_zero(intake, imap, smtp):
    imap.append("INBOX", to_bytes(application_email(complete_values())), msg_time=ON_TIME)
    result = CliRunner().invoke(app, ["poll", "--once"], env=env_for(intake))
    assert result.exit_code == 0, result.output
    assert "1 seen, 1 processed" in result.output
    show = cli_json(env_for(intake), "show", "AD-2019-0001", "--json")
    assert show["fields"]["target_group_size"] == 1250 and show["status"] == "complete"


def test_a_chunk_is_moved_in_one_command_and_a_message_already_gone_is_no_error(intake, imap):
    for n in range(3):
        imap.append("INBOX", to_bytes(application_email(complete_values(), message_id=f"<mv-{n}@aarhus.dk>")),
                    msg_time=ON_TIME)
    uids = folder_uids(imap, "INBOX")
    imap.create_folder("Andet")
    imap.select_folder("INBOX")
    imap.move([uids[1]], "Andet")  # a person (or another worker) took one meanwhile
    folder = intake.settings.mailbox.processed_folder
    with open_mailbox(intake.settings.mailbox) as box:
        assert set(box.fetch_many([str(u) for u in uids])) == {str(uids[0]), str(uids[2])}
        box.move_many([str(u) for u in uids], folder)
    assert folder_uids(imap, "INBOX") == [] and len(folder_uids(imap, folder)) == 2
    assert len(folder_uids(imap, "Andet")) == 1


def _deliver_from_different_senders(imap: IMAPClient, count: int, tag: str) -> None:
    """``count`` applications, each from its own municipality's mail domain."""
    for n in range(count):
        imap.append("INBOX", to_bytes(application_email(complete_values(), sender=f"Sag {n} <sag{n}@kommune{n}.dk>",
                                                        message_id=f"<{tag}-{n}@kommune.dk>")), msg_time=ON_TIME)


def _parser_watching_the_relay(sink: SmtpSink, at_call: int) -> tuple[Parse, list[int]]:
    """A form parser that, at its ``at_call``-th file, waits (up to 20 s) for a reply to reach the relay and
    notes how many had; and that list of counts."""
    import threading
    import time

    seen: list[int] = []
    calls: list[int] = []
    lock = threading.Lock()

    def parse(data: bytes, filename: str, options: ParseOptions) -> tuple[FileKind, FormRecord | None]:
        with lock:
            calls.append(1)
            watching = len(calls) == at_call
        if watching:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not sink.messages:
                time.sleep(0.02)
            seen.append(len(sink.messages))
        return parse_form(data, filename, options)

    return parse, seen


def test_a_chunks_replies_are_all_sent_before_the_next_chunk_is_processed(intake, imap, smtp):
    """In a backlog the first acknowledgements go out after the first chunk, not after the last message: when
    the first form of the second chunk is read, every reply of the first chunk has reached the relay."""
    from ingest.fetch_step import CHUNK_MESSAGES

    sink, _ = smtp
    count = CHUNK_MESSAGES + 3
    _deliver_from_different_senders(imap, count, "chunked")
    parse_watching_the_relay, sent_before_second_chunk = _parser_watching_the_relay(sink, CHUNK_MESSAGES + 1)
    watching = Intake(intake.settings, intake.db, intake.archive, intake.transport,
                      reader=InlineReader(parse_watching_the_relay))
    report = watching.poll_once()
    assert report.processed == count and report.errors == 0
    assert sent_before_second_chunk == [CHUNK_MESSAGES]
    assert report.outbox is not None and report.outbox.sent == count  # the last chunk's replies too
    with intake.db.session() as session:
        assert {reply.status for reply in session.scalars(select(Reply))} == {"sent"}


def test_a_message_stored_in_this_poll_goes_to_its_pipeline_without_its_row_being_read_back(intake, imap, smtp):
    from sqlalchemy import event

    for n in range(3):
        imap.append("INBOX", to_bytes(application_email(complete_values(), message_id=f"<row-{n}@aarhus.dk>")),
                    msg_time=ON_TIME)
    read_back: list[str] = []

    def by_id(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.startswith("SELECT inbound_message.id,") and "WHERE inbound_message.id = " in statement:
            read_back.append(statement)

    event.listen(intake.db.engine, "before_cursor_execute", by_id)
    try:
        report = intake.poll_once()
    finally:
        event.remove(intake.db.engine, "before_cursor_execute", by_id)
    assert report.outcomes == {"application": 3}
    assert read_back == []  # the row the process step wrote is the one the pipeline updates
    with intake.db.session() as session:
        rows = session.scalars(select(InboundMessage)).all()
        assert [(r.state, r.outcome) for r in rows] == [("processed", "application")] * 3
        assert all(r.application_id is not None and r.processing_ms is not None for r in rows)


def test_a_polls_replies_go_out_chunk_by_chunk_over_one_smtp_connection(intake, imap, smtp):
    """Every reply of a poll of more than one chunk goes over one connection: a login to the relay per poll,
    not per chunk."""
    from ingest.fetch_step import CHUNK_MESSAGES

    sink, _ = smtp
    count = CHUNK_MESSAGES + 5
    _deliver_from_different_senders(imap, count, "one")
    report = intake.poll_once()
    assert report.processed == count and report.outbox is not None and report.outbox.sent == count
    assert len(sink.messages) == count and sink.greetings == 1


def test_a_caseworkers_reply_from_the_web_app_reaches_the_relay_threaded_and_not_auto_submitted(intake, imap, smtp):
    """Dovecot → the pipeline → the web app (a person answers the question) → the outbox → aiosmtpd."""
    from email import message_from_bytes
    from email import policy as email_policy

    from fastapi.testclient import TestClient
    from web_support import sign_in

    from notifications import send_pending
    from storage.passwords import hash_password
    from storage.staff import add_staff
    from web import create_app

    sink, _ = smtp
    imap.append("INBOX", to_bytes(application_email(None, subject="Spørgsmål om partnerkommuner",
                                                    message_id="<sp1@kolding.dk>",
                                                    body="Må en partnerkommune ligge i en anden region?\n")),
                msg_time=ON_TIME)
    intake.poll_once()
    sink.clear()
    with intake.db.session() as session:
        add_staff(session, "anna@socialstyrelsen.dk", hash_password("correct-horse-battery"))
        question = session.scalars(select(InboundMessage).where(InboundMessage.message_id == "<sp1@kolding.dk>")
                                   ).one().id
    client = TestClient(create_app(intake.settings, intake.db), follow_redirects=False)
    token = sign_in(client)
    assert client.post(f"/messages/{question}/reply", data={"csrf_token": token, "action": "send",
                                                            "text": "Ja, det må den gerne."}).status_code == 303
    assert send_pending(intake.db, intake.transport, intake.settings.smtp.sender, 8).sent == 1
    [received] = [message_from_bytes(raw, policy=email_policy.default) for raw in sink.raw]
    assert sink.envelopes[0][1] == ["mette.jensen@aarhus.dk"]
    assert received["In-Reply-To"] == "<sp1@kolding.dk>" and received["Auto-Submitted"] is None
    assert received["Subject"] == "Sv: Spørgsmål om partnerkommuner"
    text = received.get_body(("plain",)).get_content()
    assert text.startswith("Ja, det må den gerne.") and "> Må en partnerkommune ligge i en anden region?" in text
