"""An application is a conversation: clarification, correction, acknowledgement, all under one reference."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from test_intake_end_to_end import env_for
from typer.testing import CliRunner

from cli.main import app
from ingest.demo import application_email, complete_values, to_bytes
from storage import Application, Reply

pytestmark = pytest.mark.servers
MORNING = datetime(2019, 9, 2, 8, 0, tzinfo=UTC)


def show(intake, reference: str) -> dict:
    result = CliRunner().invoke(app, ["show", reference, "--json"], env=env_for(intake))
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def deliver(imap, message, when: datetime) -> None:
    imap.append("INBOX", to_bytes(message), msg_time=when)


def test_incomplete_then_corrected_reply_is_one_application_with_two_versions_and_same_reference(intake, imap,
                                                                                                 smtp):
    sink, _ = smtp
    deliver(imap, application_email(complete_values(population=None), message_id="<first@aarhus.dk>"), MORNING)
    intake.poll_once()
    clarification = sink.messages[-1]
    assert clarification["Subject"].startswith("[AD-2019-0001] Manglende oplysninger")

    answer = application_email(complete_values(), subject=f"SV: {clarification['Subject']}",
                               message_id="<second@aarhus.dk>")
    answer["In-Reply-To"] = clarification["Message-ID"]
    answer["References"] = f"<first@aarhus.dk> {clarification['Message-ID']}"
    deliver(imap, answer, MORNING + timedelta(hours=2))
    report = intake.poll_once()

    assert report.outcomes == {"application": 1}
    acknowledgement = sink.messages[-1]
    assert acknowledgement["Subject"].startswith("[AD-2019-0001] Kvittering")
    assert "rettede ansøgningsskema (version 2)" in acknowledgement.get_body(("plain",)).get_content()
    assert acknowledgement["In-Reply-To"] == "<second@aarhus.dk>"
    view = show(intake, "AD-2019-0001")
    assert view["status"] == "complete" and view["fields"]["population"] == 352751
    assert [(v["version"], v["complete"], v["current"]) for v in view["versions"]] == [(1, False, False),
                                                                                      (2, True, True)]
    assert [(e["direction"], e.get("kind") or e["outcome"]) for e in view["conversation"]] == [
        ("in", "application"), ("out", "clarification"), ("in", "application"), ("out", "acknowledgement")]
    with intake.db.session() as session:
        assert len(session.scalars(select(Application)).all()) == 1


@pytest.mark.parametrize("subject", ["VS: [AD-2019-0001] Manglende oplysninger", "Re: AD - 2019 - 1 rettelse",
                                     "AW:ad-2019-0001", "Rettet skema"])
def test_a_correction_finds_its_application_by_subject_reference_or_by_sender(intake, imap, smtp, subject):
    deliver(imap, application_email(complete_values(director_name=None), message_id="<a@odder.dk>"), MORNING)
    intake.poll_once()
    deliver(imap, application_email(complete_values(), subject=subject, message_id="<b@odder.dk>"),
            MORNING + timedelta(hours=1))
    intake.poll_once()
    view = show(intake, "AD-2019-0001")
    assert view["status"] == "complete" and len(view["versions"]) == 2


def test_a_text_answer_without_a_form_is_attached_with_a_short_receipt(intake, imap, smtp):
    sink, _ = smtp
    deliver(imap, application_email(complete_values(approval_date=None), message_id="<q1@vejle.dk>"), MORNING)
    intake.poll_once()
    answer = application_email(None, subject="SV: [AD-2019-0001] Manglende oplysninger",
                               message_id="<q2@vejle.dk>")
    answer.set_content("Direktøren godkendte ansøgningen den 5. september.")
    deliver(imap, answer, MORNING + timedelta(days=3))
    report = intake.poll_once()
    assert report.outcomes == {"follow_up": 1}
    assert sink.messages[-1]["Subject"] == "[AD-2019-0001] Vi har modtaget jeres svar"
    view = show(intake, "AD-2019-0001")
    assert view["status"] == "needs_clarification"
    assert [e.get("kind") or e["outcome"] for e in view["conversation"]] == [
        "application", "clarification", "follow_up", "receipt"]


def test_a_correction_after_the_deadline_keeps_the_application_on_time_but_is_marked(intake, imap, smtp):
    sink, _ = smtp
    deliver(imap, application_email(complete_values(cvr="12345678"), message_id="<d1@viborg.dk>"), MORNING)
    intake.poll_once()
    late = datetime(2019, 9, 10, 9, 0, tzinfo=UTC)
    deliver(imap, application_email(complete_values(), subject="Re: [AD-2019-0001]", message_id="<d2@viborg.dk>"),
            late)
    intake.poll_once()
    view = show(intake, "AD-2019-0001")
    assert view["late"] is False and view["status"] == "complete"
    assert [v["after_deadline"] for v in view["versions"]] == [False, True]
    body = sink.messages[-1].get_body(("plain",)).get_content()
    assert "Rettelsen er modtaget efter ansøgningsfristen" in body and "Bemærk: Ansøgningen er modtaget" not in body


def test_an_incomplete_correction_does_not_replace_a_complete_version(intake, imap, smtp):
    deliver(imap, application_email(complete_values(), message_id="<e1@aalborg.dk>"), MORNING)
    intake.poll_once()
    deliver(imap, application_email(complete_values(contact_email=None), subject="Re: [AD-2019-0001]",
                                    message_id="<e2@aalborg.dk>"), MORNING + timedelta(hours=1))
    intake.poll_once()
    view = show(intake, "AD-2019-0001")
    assert view["status"] == "complete" and [v["current"] for v in view["versions"]] == [True, False]
    with intake.db.session() as session:
        kinds = [r.kind for r in session.scalars(select(Reply).order_by(Reply.id))]
    assert kinds == ["acknowledgement", "clarification"]


def test_sent_replies_are_appended_to_the_sent_folder_when_configured(intake, imap, smtp):
    sink, _ = smtp
    intake.settings.smtp.sent_folder = "Sent"
    deliver(imap, application_email(complete_values(), message_id="<s1@aarhus.dk>"), MORNING)
    intake.poll_once()
    (sent,) = sink.messages
    imap.select_folder("Sent", readonly=True)
    (uid,) = imap.search("ALL")
    stored = imap.fetch([uid], ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]", "FLAGS"])[uid]
    assert sent["Message-ID"].strip().encode() in stored[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"]
    assert b"\\Seen" in stored[b"FLAGS"]


def test_replies_sent_before_the_mailbox_failed_mid_poll_still_get_their_sent_folder_copies(intake, imap, smtp):
    """The replies of a poll go out while it runs; when its IMAP connection then fails, the copies of those
    already sent are appended over a fresh connection, and the rest wait, pending, for the next poll."""
    import contextlib
    import time

    from ingest.errors import MailboxError
    from ingest.fetch_step import CHUNK_MESSAGES
    from ingest.mailbox import open_mailbox

    sink, _ = smtp
    intake.settings.smtp.sent_folder = "Sent"
    count = CHUNK_MESSAGES + 2
    for n in range(count):
        deliver(imap, application_email(complete_values(), sender=f"Sag {n} <sag{n}@kommune{n}.dk>",
                                        message_id=f"<midpoll-{n}@kommune.dk>"), MORNING)

    @contextlib.contextmanager
    def failing_at_the_second_chunk(settings):  # type: ignore[no-untyped-def]
        with open_mailbox(settings) as mailbox:
            fetch_many, calls = mailbox.fetch_many, []

            def fetch_then_fail(uids):  # type: ignore[no-untyped-def]
                calls.append(uids)
                if len(calls) == 2:  # the first chunk's replies are out (or 20 s passed): the connection drops
                    deadline = time.monotonic() + 20
                    while time.monotonic() < deadline and len(sink.messages) < CHUNK_MESSAGES:
                        time.sleep(0.02)
                    raise MailboxError("IMAP: ConnectionResetError: the server went away")
                return fetch_many(uids)

            mailbox.fetch_many = fetch_then_fail  # type: ignore[method-assign]
            yield mailbox

    intake.mailbox_factory = failing_at_the_second_chunk
    with pytest.raises(MailboxError):
        intake.poll_once()
    assert len(sink.messages) == CHUNK_MESSAGES  # the first chunk's, sent during the poll
    imap.select_folder("Sent", readonly=True)
    assert len(imap.search("ALL")) == CHUNK_MESSAGES

    intake.mailbox_factory = open_mailbox
    report = intake.poll_once()
    assert report.processed == count - CHUNK_MESSAGES and len(sink.messages) == count
    imap.select_folder("Sent", readonly=True)
    assert len(imap.search("ALL")) == count


def test_the_worker_killed_after_commit_before_move_gives_no_second_application_or_reply(intake, imap, smtp):
    import os
    import signal
    import subprocess
    import sys

    sink, _ = smtp
    deliver(imap, application_email(complete_values(), message_id="<kill@aarhus.dk>"), MORNING)
    env = {**os.environ, **env_for(intake), "UIP_INTAKE_FAULT": "kill-before-move"}
    killed = subprocess.run([sys.executable, "-m", "cli.main", "poll", "--once"], env=env, capture_output=True,
                            timeout=120)
    assert killed.returncode == -signal.SIGKILL
    imap.select_folder("INBOX", readonly=True)
    assert len(imap.search("ALL")) == 1  # committed, not moved
    env.pop("UIP_INTAKE_FAULT")
    again = subprocess.run([sys.executable, "-m", "cli.main", "poll", "--once"], env=env, capture_output=True,
                           timeout=120)
    assert again.returncode == 0, again.stderr
    imap.select_folder("INBOX", readonly=True)
    assert imap.search("ALL") == []
    with intake.db.session() as session:
        assert len(session.scalars(select(Application)).all()) == 1
        assert len(session.scalars(select(Reply)).all()) == 1
    assert len(sink.messages) == 1
