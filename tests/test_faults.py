"""Faults against the real servers: the worker SIGKILLed at every point a message passes (each twice), two
workers on one mailbox, and the mailbox's UIDVALIDITY changing under the worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from test_intake_end_to_end import env_for

from config.faults import FAULT_POINTS
from ingest.demo import application_email, complete_values, to_bytes
from storage import Application, InboundMessage, Reply

pytestmark = pytest.mark.servers
MORNING = datetime(2019, 9, 2, 8, 0, tzinfo=UTC)


def worker_env(intake, **extra: str) -> dict[str, str]:
    """The environment of a worker process on the test's mailbox, database and archive (no IDLE, parsing in
    process: the faults are in the pipeline, not the sandbox)."""
    return {**os.environ, **env_for(intake), "UIP_INTAKE_MAILBOX__IDLE": "false",
            "UIP_INTAKE_PARSING__ISOLATE": "false", **extra}


def poll_once(env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "cli.main", "poll", "--once"], env=env, capture_output=True,
                          timeout=180)


def inbox(imap) -> list[int]:
    imap.select_folder("INBOX", readonly=True)
    return imap.search("ALL")


def counts(intake) -> tuple[int, int, int, int]:
    """(messages, processed messages, applications, sent replies)"""
    with intake.db.session() as session:
        return (session.scalar(select(func.count(InboundMessage.id))),
                session.scalar(select(func.count(InboundMessage.id)).where(InboundMessage.state == "processed")),
                session.scalar(select(func.count(Application.id))),
                session.scalar(select(func.count(Reply.id)).where(Reply.status == "sent")))


@pytest.mark.parametrize("fault", FAULT_POINTS)
def test_a_worker_killed_twice_at_each_point_loses_nothing_and_answers_each_email_once_per_window(
        intake, imap, smtp, fault):
    sink, _ = smtp
    for n, municipality in enumerate(("Aarhus", "Odense")):
        imap.append("INBOX", to_bytes(application_email(complete_values(municipality=municipality),
                                                        message_id=f"<kill-{n}@{municipality.lower()}.dk>")),
                    msg_time=MORNING)
    kills = 0
    for _ in range(2):  # the same fault twice in a row
        run = poll_once(worker_env(intake, UIP_INTAKE_FAULT=fault))
        assert run.returncode in (-signal.SIGKILL, 0), run.stderr.decode()[-2000:]
        kills += run.returncode == -signal.SIGKILL
    assert kills >= 1
    clean = poll_once(worker_env(intake))
    assert clean.returncode == 0, clean.stderr.decode()[-2000:]
    assert inbox(imap) == []
    assert counts(intake) == (2, 2, 2, 2)  # every email recorded once, processed, applied for and answered
    answered = sorted(m["In-Reply-To"] for m in sink.messages)
    assert set(answered) == {"<kill-0@aarhus.dk>", "<kill-1@odense.dk>"}
    # a reply is sent again only when the worker died between the server's 250 and that reply's commit: at
    # most one per kill. Replies go out beside the pipeline (each once its message is committed), so a kill
    # at any point may land in that window; kill-after-smtp always does
    assert len(sink.messages) <= 2 + kills


def test_two_workers_on_one_mailbox_claim_each_message_once(intake, imap, smtp):
    """PostgreSQL: both run at once, each message is processed by one of them and answered once. SQLite: the
    second worker is refused at start with a message naming the first, and takes over once it has stopped."""
    sink, _ = smtp
    total = 40
    for n in range(total):
        imap.append("INBOX", to_bytes(application_email(complete_values(), message_id=f"<two-{n}@aarhus.dk>",
                                                        sender=f"K{n} <k{n}@aarhus.dk>")), msg_time=MORNING)
    env = worker_env(intake)
    if intake.db.engine.dialect.name == "sqlite":
        _sqlite_refuses_a_second_worker(intake, env)
    else:
        workers = [subprocess.Popen([sys.executable, "-m", "cli.main", "poll", "--once"], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
        results = [w.communicate(timeout=300) for w in workers]
        for worker, (_out, err) in zip(workers, results, strict=True):
            assert worker.returncode == 0, err.decode()[-3000:]
    assert inbox(imap) == []
    assert counts(intake) == (total, total, total, total)
    with intake.db.session() as session:
        references = list(session.scalars(select(Application.reference)))
    assert len(set(references)) == total
    assert sorted(m["In-Reply-To"] for m in sink.messages) == sorted(f"<two-{n}@aarhus.dk>" for n in range(total))


def _sqlite_refuses_a_second_worker(intake, env: dict[str, str]) -> None:
    runner = subprocess.Popen([sys.executable, "-m", "cli.main", "run"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while counts(intake)[1] < 40 and time.monotonic() < deadline:
            time.sleep(0.5)
        second = poll_once(env)
        assert second.returncode == 3
        assert b"another worker" in second.stderr and b"SQLite allows one worker" in second.stderr
    finally:
        runner.send_signal(signal.SIGTERM)
        runner.communicate(timeout=60)
    again = poll_once(env)  # the first one stopped: the lease is free
    assert again.returncode == 0, again.stderr.decode()[-2000:]


def test_a_crashed_sqlite_worker_does_not_lock_the_mailbox_out(intake, imap, smtp):
    imap.append("INBOX", to_bytes(application_email(complete_values(), message_id="<crash@aarhus.dk>")),
                msg_time=MORNING)
    killed = poll_once(worker_env(intake, UIP_INTAKE_FAULT="kill-after-row"))
    assert killed.returncode == -signal.SIGKILL
    after = poll_once(worker_env(intake))  # its lease names a process that is gone: taken over at once
    assert after.returncode == 0, after.stderr.decode()[-2000:]
    assert counts(intake)[:3] == (1, 1, 1)


def test_a_uidvalidity_change_after_a_crash_gives_no_second_application_or_reply(intake, imap, smtp, dovecot):
    sink, _ = smtp
    imap.append("INBOX", to_bytes(application_email(complete_values(), message_id="<uv@aarhus.dk>")),
                msg_time=MORNING)
    killed = poll_once(worker_env(intake, UIP_INTAKE_FAULT="kill-before-move"))
    assert killed.returncode == -signal.SIGKILL
    # the server renumbers the folder (a restore, a migration): every UID is new, UIDVALIDITY changes
    before = imap.folder_status("INBOX", [b"UIDVALIDITY"])[b"UIDVALIDITY"]
    maildir = dovecot.root / "mail" / intake.settings.mailbox.username / "Maildir"
    for state in [*maildir.rglob("dovecot-uidlist"), *maildir.rglob("dovecot.index*")]:
        state.unlink()
    time.sleep(1.1)  # Dovecot takes the new UIDVALIDITY from the clock
    assert poll_once(worker_env(intake)).returncode == 0
    with intake.db.session() as session:
        first, second = session.scalars(select(InboundMessage).order_by(InboundMessage.id))
        assert first.uidvalidity != second.uidvalidity and str(before) == first.uidvalidity
        assert (first.outcome, second.outcome) == ("application", "duplicate")
    assert counts(intake)[2:] == (1, 1) and len(sink.messages) == 1
