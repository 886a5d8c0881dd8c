"""The Board's mailbox through Microsoft Graph (no IMAP), against a local Graph mailbox over verified HTTPS and
the local identity provider: the same pipeline as IMAP mail, the size gate before any download, paging, the
move after the commit, throttling and refused tokens handled as outages."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from graph_server import GraphServer
from identity_provider import TENANT, IdentityProvider
from sqlalchemy import select

from config import Settings, load_settings
from config.faults import FAULT_POINTS
from ingest.demo import application_email, complete_values, sized_email, to_bytes
from ingest.errors import MailboxError
from ingest.mailbox import open_mailbox
from ingest.poller import Intake
from notifications.graph_client import GRAPH_SCOPE
from notifications.oauth2 import forget_tokens
from storage import InboundMessage, Reply

MAILBOX = "uip-imp2@socialstyrelsen.dk"
ON_TIME = datetime(2019, 9, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider(mailbox=MAILBOX).start(Path(tempfile.mkdtemp(prefix="uip-graph-idp-")))
    yield provider
    provider.stop()


@pytest.fixture()
def graph(idp: IdentityProvider) -> Iterator[GraphServer]:
    idp.requests.clear()
    idp.scopes.clear()
    idp.lifetime = 3600.0
    forget_tokens()
    server = GraphServer(idp, MAILBOX).start()
    yield server
    server.stop()


def graph_settings(tmp_path: Path, idp: IdentityProvider, graph: GraphServer, db_url: str) -> Settings:
    return load_settings(None, **{
        "mailbox": {"protocol": "graph", "auth": "oauth2", "username": MAILBOX, "graph_url": graph.url,
                    "ca_file": str(idp.ca_file), "timeout_seconds": 20, "graph_page_size": 100},
        "smtp": {"transport": "file", "outbox_dir": str(tmp_path / "outbox")},
        "oauth2": {"provider": "microsoft", "tenant": TENANT, "client_id": idp.client_id,
                   "client_secret": idp.client_secret, "token_url": idp.microsoft_token_url,
                   "ca_file": str(idp.ca_file)},
        "database": {"url": db_url},
        "storage": {"archive_dir": str(tmp_path / "archive")},
        "parsing": {"isolate": False},
    })


@pytest.fixture()
def intake(tmp_path: Path, idp: IdentityProvider, graph: GraphServer, db_url: str) -> Iterator[Intake]:
    service = Intake.from_settings(graph_settings(tmp_path, idp, graph, db_url))
    service.db.migrate()
    yield service
    service.close()


def rows(intake: Intake) -> list[InboundMessage]:
    with intake.db.session() as session:
        found = list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))
        session.expunge_all()
        return found


def test_an_application_read_through_graph_is_stored_acknowledged_and_moved_after_the_commit(intake, graph, idp):
    graph.deliver(to_bytes(application_email(complete_values(), message_id="<g1@aarhus.dk>")), ON_TIME)
    report = intake.poll_once()
    assert report.processed == 1
    [row] = rows(intake)
    assert (row.outcome, row.message_id, row.folder) == ("application", "<g1@aarhus.dk>", "INBOX")
    assert row.uid.startswith("AAMkImm") and row.uidvalidity.startswith("graph:")
    assert [m.id for m in graph.in_folder("Processed")] == [row.uid]  # the same (immutable) id after the move
    assert graph.in_folder("Inbox") == []
    with intake.db.session() as session:
        assert session.scalars(select(Reply)).one().kind == "acknowledgement"
    assert set(idp.scopes) == {GRAPH_SCOPE}  # Graph's scope, not Exchange's IMAP one
    assert intake.poll_once().processed == 0  # nothing twice


def test_an_email_over_10_mb_is_refused_from_its_headers_and_never_downloaded(intake, graph):
    big = graph.deliver(sized_email(10 * 1024 * 1024 + 1, message_id="<big@horsens.dk>",
                                    sender="Sofie Lind <sofie@horsens.dk>"), ON_TIME)
    intake.poll_once()
    [row] = rows(intake)
    assert row.outcome == "rejected" and row.headers_only and row.sender == "sofie@horsens.dk"
    assert not any(big in path for path in graph.downloaded())  # the body never left the server
    with intake.db.session() as session:
        reply = session.scalars(select(Reply)).one()
        assert reply.kind == "size_rejection" and reply.to_addr == "sofie@horsens.dk"


def test_a_backlog_larger_than_a_page_is_read_page_by_page_in_the_order_it_arrived(intake, graph):
    graph.page_size = 4
    for n in range(11):
        graph.deliver(to_bytes(application_email(complete_values(), message_id=f"<p{n}@aarhus.dk>")),
                      ON_TIME + timedelta(minutes=n))
    intake.poll_once()
    assert [r.message_id for r in rows(intake)] == [f"<p{n}@aarhus.dk>" for n in range(11)]
    listed = [path for method, path in graph.requests if path.endswith("/messages") and method == "GET"]
    assert len(listed) >= 3  # 11 messages at 4 a page: the next links were followed
    assert len(graph.in_folder("Processed")) == 11


def test_throttling_is_waited_out_as_the_server_asks(intake, graph):
    graph.deliver(to_bytes(application_email(complete_values(), message_id="<t1@aarhus.dk>")), ON_TIME)
    graph.throttle = 3  # three 429s (Retry-After: 0), then answers
    assert intake.poll_once().processed == 1
    assert rows(intake)[0].outcome == "application"


def test_throttling_that_does_not_end_is_an_outage_no_message_is_charged_for(intake, graph, tmp_path):
    graph.deliver(to_bytes(application_email(complete_values(), message_id="<t2@aarhus.dk>")), ON_TIME)
    graph.throttle = 1_000
    with pytest.raises(MailboxError, match="429"):
        intake.poll_once()
    assert all(r.attempts == 0 for r in rows(intake))
    graph.throttle = 0
    assert intake.poll_once().processed == 1  # the next poll reads it


def test_a_refused_token_is_renewed_once_then_a_clear_error(intake, graph, idp):
    graph.deliver(to_bytes(application_email(complete_values(), message_id="<r1@aarhus.dk>")), ON_TIME)
    with open_mailbox(intake.settings.mailbox) as box:
        box.entries()
        idp.revoke_all()  # the cached token is refused from now on: a new one is fetched and used
        assert len(box.entries()) == 1
        original = idp.client_secret
        idp.revoke_all()
        idp.client_secret = "another"  # and now no new token can be had
        try:
            with pytest.raises(MailboxError, match="AADSTS7000215"):
                box.entries()
        finally:
            idp.client_secret = original


def test_a_mailbox_the_app_is_not_granted_is_refused_naming_what_to_grant(tmp_path, idp, graph, db_url):
    settings = graph_settings(tmp_path, idp, graph, db_url)
    settings.mailbox.username = "another@socialstyrelsen.dk"
    with pytest.raises(MailboxError, match=r"Application Mail\.ReadWrite"), open_mailbox(settings.mailbox):
        pass


def test_a_message_gone_between_listing_and_download_is_no_error(intake, graph):
    gone = graph.deliver(to_bytes(application_email(complete_values(), message_id="<gone@aarhus.dk>")), ON_TIME)
    with open_mailbox(intake.settings.mailbox) as box:
        [entry] = box.entries()
        del graph.messages[gone]
        assert box.fetch_many([entry.uid]) == {}
        assert box.fetch_header(entry.uid) is None
        box.move_many([entry.uid], "Processed")  # already gone: nothing to move, nothing raised


def test_replies_are_sent_through_graph_as_our_own_mime_and_kept_by_exchange_in_sent_items(tmp_path, idp, graph,
                                                                                          db_url):
    settings = graph_settings(tmp_path, idp, graph, db_url)
    settings = load_settings(None, **{**settings.model_dump(mode="json", exclude={"smtp"}),
                                      "oauth2": {**settings.oauth2.model_dump(mode="json"),
                                                 "client_secret": idp.client_secret},
                                      "smtp": {"sender": settings.smtp.sender}})
    assert settings.smtp.transport == "graph" and settings.smtp.username == MAILBOX  # the default for Graph mail
    graph.deliver(to_bytes(application_email(complete_values(), message_id="<s1@aarhus.dk>")), ON_TIME)
    service = Intake.from_settings(settings)
    service.db.migrate()
    try:
        service.poll_once()
    finally:
        service.close()
    [raw] = graph.sent
    sent = message_from_bytes(raw, policy=policy.default)
    assert sent["In-Reply-To"] == "<s1@aarhus.dk>" and sent["Auto-Submitted"] == "auto-replied"
    assert sent["X-Auto-Response-Suppress"] == "All" and "<s1@aarhus.dk>" in sent["References"]
    assert [m.raw for m in graph.in_folder("Sent Items")] == [raw]  # Exchange's copy; none of ours besides
    with service.db.session() as session:
        reply = session.scalars(select(Reply)).one()
        assert reply.status == "sent" and reply.message_id_header == sent["Message-ID"].strip()
    # our own reply coming back into the inbox (a colleague's redirect, a copy) is recognised, never answered
    graph.deliver(raw, ON_TIME + timedelta(minutes=5))
    service = Intake.from_settings(settings)
    try:
        service.poll_once()
    finally:
        service.close()
    assert len(graph.sent) == 1
    with service.db.session() as session:
        back = session.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
        assert back.outcome == "ignored" and back.reason_params["no_reply"]["code"] in (
            "our_message", "ourselves", "auto_submitted")


def test_a_reply_over_graphs_4_mb_request_limit_stays_in_the_outbox_with_the_reason(tmp_path, idp, graph, db_url):
    from notifications.transport import GraphTransport, TransportError

    settings = graph_settings(tmp_path, idp, graph, db_url)
    settings.smtp.transport, settings.smtp.graph_url, settings.smtp.username = "graph", graph.url, MAILBOX
    settings.smtp.ca_file = str(idp.ca_file)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = MAILBOX, "a@b.dk", "stor"
    message["Message-ID"] = "<big-reply@socialstyrelsen.dk>"
    message.set_content("x" * 3_200_000)
    with pytest.raises(TransportError, match="over Graph's limit") as refused:
        GraphTransport(settings.smtp).send(message)
    assert not refused.value.permanent and graph.sent == []


def test_check_reads_the_graph_mailbox_and_its_folders_and_sends_nothing(tmp_path, idp, graph, db_url):
    from ingest.checks import Status, check_mailbox, check_smtp

    settings = graph_settings(tmp_path, idp, graph, db_url)
    results = check_mailbox(settings, create_folders=False)
    assert [r.status for r in results] == [Status.OK, Status.WARNING]
    assert "Processed, Rejected, Quarantine missing" in results[1].detail
    assert graph.folder_id("Processed") is None  # a check makes nothing unless asked
    created = check_mailbox(settings, create_folders=True)
    assert created[1].status == Status.OK and "created Processed, Rejected, Quarantine" in created[1].detail
    assert graph.folder_id("Quarantine") is not None
    settings.smtp.transport, settings.smtp.graph_url, settings.smtp.username = "graph", graph.url, MAILBOX
    settings.smtp.ca_file = str(idp.ca_file)
    sending = check_smtp(settings)  # the local provider's tokens are opaque: nothing says Mail.Send
    assert sending.status == Status.WARNING and "Application Mail.Send" in sending.fix and graph.sent == []
    settings.mailbox.username = "another@socialstyrelsen.dk"
    refused = check_mailbox(settings, create_folders=False)
    assert refused[0].status == Status.FAILED and "403" in refused[0].detail


def test_graph_settings_that_cannot_work_are_errors_naming_the_key():
    from config.consistency import errors

    found = {f.key for f in errors(load_settings(None, mailbox={"protocol": "graph", "username": MAILBOX,
                                                                "graph_url": "http://graph.local/v1.0"}))}
    assert {"mailbox.auth", "mailbox.graph_url"} <= found


def test_a_move_that_fails_after_the_commit_is_done_at_the_next_poll_without_a_second_reply(intake, graph):
    graph.deliver(to_bytes(application_email(complete_values(), message_id="<m1@aarhus.dk>")), ON_TIME)
    graph.fail_moves = True
    with contextlib.suppress(MailboxError):  # the poll may end as an outage: what matters is what is kept
        intake.poll_once()
    [row] = rows(intake)
    assert row.outcome == "application" and len(graph.in_folder("Inbox")) == 1
    graph.fail_moves = False
    intake.poll_once()
    assert graph.in_folder("Inbox") == [] and len(graph.in_folder("Processed")) == 1
    assert len(rows(intake)) == 1
    with intake.db.session() as session:
        assert len(session.scalars(select(Reply)).all()) == 1  # answered once


def test_two_workers_reading_one_graph_mailbox_process_and_answer_each_message_once(tmp_path, idp, graph, db_url):
    """PostgreSQL: both poll at once and claim by (folder, uidvalidity, Graph id), as over IMAP. SQLite, where
    one worker runs at a time: one after the other, the second finds nothing left to do."""
    import threading

    total = 16
    for n in range(total):
        graph.deliver(to_bytes(application_email(complete_values(), message_id=f"<w{n}@aarhus.dk>",
                                                 sender=f"K{n} <k{n}@aarhus.dk>")), ON_TIME + timedelta(seconds=n))
    workers = [Intake.from_settings(graph_settings(tmp_path / f"w{i}", idp, graph, db_url)) for i in range(2)]
    workers[0].db.migrate()
    failures: list[BaseException] = []

    def poll(worker: Intake) -> None:
        try:
            worker.poll_once()
        except BaseException as error:  # reported below, never lost in the thread
            failures.append(error)

    try:
        if workers[0].db.engine.dialect.name == "sqlite":
            for worker in workers:
                poll(worker)
        else:
            threads = [threading.Thread(target=poll, args=(w,)) for w in workers]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=300)
    finally:
        for worker in workers:
            worker.close()
    assert failures == []
    assert graph.in_folder("Inbox") == [] and len(graph.in_folder("Processed")) == total
    with workers[0].db.session() as session:
        assert len(session.scalars(select(InboundMessage)).all()) == total
        replies = session.scalars(select(Reply)).all()
        assert sorted(r.in_reply_to for r in replies) == sorted(f"<w{n}@aarhus.dk>" for n in range(total))


def test_a_delta_query_sees_new_mail_within_seconds_and_a_restart_goes_on_from_the_kept_link(intake, graph):
    import threading
    import time

    from ingest.graph_delta import DeltaWatcher
    from storage.sync_state import sync_value

    graph.deliver(to_bytes(application_email(complete_values(), message_id="<d0@aarhus.dk>")), ON_TIME)
    woken, stop = threading.Event(), threading.Event()
    settings = intake.settings.mailbox.model_copy(update={"graph_delta_seconds": 0.2})
    settings._oauth2 = intake.settings.oauth2
    watcher = DeltaWatcher(settings, intake.db, woken.set, stop)
    watcher.start()
    try:
        assert woken.wait(10)  # the first round: a fresh sync, so the poll looks at the whole inbox
        woken.clear()
        rounds = watcher.rounds
        while watcher.rounds < rounds + 2:  # nothing new: no wake
            time.sleep(0.05)
        assert not woken.is_set()
        arrived = time.monotonic()
        graph.deliver(to_bytes(application_email(complete_values(), message_id="<d1@aarhus.dk>")), ON_TIME)
        assert woken.wait(10) and time.monotonic() - arrived < 2.0
    finally:
        stop.set()
        watcher.join(timeout=10)
    with intake.db.session() as session:
        link = sync_value(session, watcher.key)
    assert link is not None and "$deltatoken=" in link
    # a new worker goes on from the kept link: no full listing, and nothing new means no wake
    again = DeltaWatcher(settings, intake.db, woken.set, stop)
    woken.clear()
    assert again.check() is False
    graph.expire_deltas = True  # Graph forgot the sync: start afresh, and wake the poll to look at everything
    assert again.check() is True
    with intake.db.session() as session:
        assert sync_value(session, again.key) is None
    graph.expire_deltas = False
    assert again.check() is True  # the fresh sync


def graph_env(settings: Settings, idp: IdentityProvider, **extra: str) -> dict[str, str]:
    """The environment that gives a `uip-intake` process this Graph mailbox, sending through Graph."""
    import os

    return {**os.environ, "UIP_INTAKE_MAILBOX__PROTOCOL": "graph", "UIP_INTAKE_MAILBOX__AUTH": "oauth2",
            "UIP_INTAKE_MAILBOX__USERNAME": MAILBOX, "UIP_INTAKE_MAILBOX__GRAPH_URL": settings.mailbox.graph_url,
            "UIP_INTAKE_MAILBOX__CA_FILE": str(idp.ca_file), "UIP_INTAKE_MAILBOX__IDLE": "false",
            "UIP_INTAKE_OAUTH2__PROVIDER": "microsoft", "UIP_INTAKE_OAUTH2__TENANT": TENANT,
            "UIP_INTAKE_OAUTH2__CLIENT_ID": idp.client_id, "UIP_INTAKE_OAUTH2__CLIENT_SECRET": idp.client_secret,
            "UIP_INTAKE_OAUTH2__TOKEN_URL": idp.microsoft_token_url, "UIP_INTAKE_OAUTH2__CA_FILE": str(idp.ca_file),
            "UIP_INTAKE_SMTP__TRANSPORT": "auto", "UIP_INTAKE_DATABASE__URL": settings.database.url,
            "UIP_INTAKE_STORAGE__ARCHIVE_DIR": str(settings.storage.archive_dir),
            "UIP_INTAKE_PARSING__ISOLATE": "false", **extra}


def cli(env: dict[str, str], *args: str):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "cli.main", *args], env=env, capture_output=True, timeout=180)


@pytest.mark.parametrize("fault", FAULT_POINTS)
def test_a_graph_worker_killed_twice_at_each_point_loses_nothing_and_answers_each_email_once_per_window(
        intake, graph, idp, fault):
    import signal

    for n, municipality in enumerate(("Aarhus", "Odense")):
        graph.deliver(to_bytes(application_email(complete_values(municipality=municipality),
                                                 message_id=f"<gkill-{n}@{municipality.lower()}.dk>")), ON_TIME)
    kills = 0
    for _ in range(2):
        run = cli(graph_env(intake.settings, idp, UIP_INTAKE_FAULT=fault), "poll", "--once")
        assert run.returncode in (-signal.SIGKILL, 0), run.stderr.decode()[-2000:]
        kills += run.returncode == -signal.SIGKILL
    assert kills >= 1
    clean = cli(graph_env(intake.settings, idp), "poll", "--once")
    assert clean.returncode == 0, clean.stderr.decode()[-2000:]
    assert graph.in_folder("Inbox") == [] and len(graph.in_folder("Processed")) == 2
    with intake.db.session() as session:
        messages = session.scalars(select(InboundMessage)).all()
        assert len(messages) == 2 and all(m.state == "processed" for m in messages)
        assert sorted(r.status for r in session.scalars(select(Reply))) == ["sent", "sent"]
    answered = {message_from_bytes(raw, policy=policy.default)["In-Reply-To"] for raw in graph.sent}
    assert answered == {"<gkill-0@aarhus.dk>", "<gkill-1@odense.dk>"}
    assert len(graph.sent) <= 2 + kills  # a second copy only for a kill between Graph's 202 and the commit


def test_poll_send_and_reprocess_run_from_the_command_line_against_graph(intake, graph, idp):
    from storage.models import utcnow

    graph.deliver(to_bytes(application_email(complete_values(population=None), message_id="<cli@aarhus.dk>")),
                  ON_TIME)
    env = graph_env(intake.settings, idp)
    graph.refuse_sends = True  # sendMail answers 503 for now: the reply waits in the outbox
    polled = cli(env, "poll", "--once")
    assert polled.returncode == 0, polled.stderr.decode()[-2000:]
    with intake.db.session() as session:
        [reply] = session.scalars(select(Reply)).all()
        assert reply.status == "pending" and "503" in (reply.last_error or "")
        reply.next_attempt_at = utcnow()  # its retry is due now
    graph.refuse_sends = False
    sent = cli(env, "send")
    assert sent.returncode == 0, sent.stderr.decode()[-2000:]
    with intake.db.session() as session:
        assert [r.status for r in session.scalars(select(Reply))] == ["sent"]
    assert len(graph.sent) == 1 and len(graph.in_folder("Processed")) == 1
    reprocessed = cli(env, "reprocess", "--dry-run")
    assert reprocessed.returncode == 0, reprocessed.stderr.decode()[-2000:]


def test_run_with_the_delta_watcher_answers_an_arrival_long_before_the_next_interval_poll(intake, graph, idp):
    """`uip-intake run` on a Graph mailbox: the interval poll is 5 minutes away, so only the delta query can
    explain an acknowledgement within half a minute of the arrival; SIGTERM then stops the worker cleanly."""
    import signal
    import subprocess
    import sys
    import time

    env = graph_env(intake.settings, idp, UIP_INTAKE_MAILBOX__IDLE="true", UIP_INTAKE_MAILBOX__POLL_SECONDS="300",
                    UIP_INTAKE_MAILBOX__GRAPH_DELTA_SECONDS="0.5")
    worker = subprocess.Popen([sys.executable, "-m", "cli.main", "run"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        # ready: the first poll is done and the watcher keeps a delta link (a second delta request follows it)
        while sum(path.endswith("/messages/delta") for _, path in list(graph.requests)) < 2:
            assert time.monotonic() < deadline and worker.poll() is None, "the worker did not start watching"
            time.sleep(0.1)
        arrived = time.monotonic()
        graph.deliver(to_bytes(application_email(complete_values(), message_id="<run-delta@aarhus.dk>")), ON_TIME)
        while not graph.sent:
            assert time.monotonic() - arrived < 30 and worker.poll() is None, "no acknowledgement from the watcher"
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=60)
    assert worker.returncode == 0, stderr[-2000:]
    [ack] = [message_from_bytes(raw, policy=policy.default) for raw in graph.sent]
    assert ack["In-Reply-To"] == "<run-delta@aarhus.dk>" and ack["Auto-Submitted"] == "auto-replied"
    assert graph.in_folder("Inbox") == [] and len(graph.in_folder("Processed")) == 1
    with intake.db.session() as session:
        [message] = session.scalars(select(InboundMessage)).all()
        assert message.state == "processed"
