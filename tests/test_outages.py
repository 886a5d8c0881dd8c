"""Outages against real servers: Dovecot restarted in the middle of a poll, a server without MOVE, a TCP
connection that goes silent during a FETCH and under IDLE, and SMTP down for hours. Each time every message
is accounted for and answered once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from servers import BlackHoleProxy, Dovecot, free_port, start_dovecot, wait_for
from sqlalchemy import func, select

from config import Settings
from ingest.demo import application_email, complete_values, sized_email, to_bytes
from ingest.errors import MailboxError
from ingest.idle import IdleWatcher
from ingest.mailbox import ImapMailbox, open_mailbox
from ingest.poller import Intake
from notifications import send_pending
from storage import InboundMessage, Reply

pytestmark = pytest.mark.servers
MORNING = datetime(2019, 9, 2, 8, 0, tzinfo=UTC)


@contextmanager
def private_dovecot(extra: str = "") -> Iterator[Dovecot]:
    server = start_dovecot(extra)
    try:
        yield server
    finally:
        server.stop()


def pointed_at(settings: Settings, port: int, password: str | None = None, **mailbox: object) -> Settings:
    copy = settings.model_copy(deep=True)
    copy.mailbox.port = port
    if password is not None:
        copy.mailbox.password = type(copy.mailbox.password)(password)
    for key, value in mailbox.items():
        setattr(copy.mailbox, key, value)
    return copy


def deliver(settings: Settings, *messages: bytes) -> None:
    from imapclient import IMAPClient

    client = IMAPClient("127.0.0.1", port=settings.mailbox.port, ssl=False, timeout=20)
    client.login(settings.mailbox.username, settings.mailbox.password.get_secret_value())
    for raw in messages:
        client.append("INBOX", raw, msg_time=MORNING)
    client.logout()


def processed(intake: Intake) -> int:
    with intake.db.session() as session:
        return session.scalar(select(func.count(InboundMessage.id)).where(InboundMessage.state == "processed"))


def emails(count: int, tag: str) -> list[bytes]:
    return [to_bytes(application_email(complete_values(), message_id=f"<{tag}-{n}@aarhus.dk>",
                                       sender=f"K{n} <k{n}@aarhus.dk>")) for n in range(count)]


def test_dovecot_restarted_in_the_middle_of_a_poll_loses_nothing(settings, smtp, monkeypatch):
    sink, _ = smtp
    monkeypatch.setattr("ingest.fetch_step.CHUNK_MESSAGES", 2)  # the restart falls in the second chunk
    with private_dovecot() as server:
        local = pointed_at(settings, server.port, server.password)
        deliver(local, *emails(4, "restart"))
        seen: list[str] = []

        @contextmanager
        def restarting_mailbox(mailbox_settings):  # the server goes down after the second message
            with open_mailbox(mailbox_settings) as box:
                fetch_many = box.fetch_many

                def fetch_then_fail(uids: list[str]) -> dict[str, bytes]:
                    seen.extend(uids)
                    if len(seen) > 2:  # the second chunk's bodies
                        server.restart()
                    return fetch_many(uids)

                box.fetch_many = fetch_then_fail  # type: ignore[method-assign]
                yield box

        intake = Intake.from_settings(local)
        intake.db.migrate()
        intake.mailbox_factory = restarting_mailbox
        try:
            with pytest.raises(MailboxError):
                intake.poll_once()
            assert processed(intake) == 2  # the first chunk, before the restart: committed and moved
            # the second chunk's fetch failed: its messages were not recorded, still in the inbox
            intake.mailbox_factory = open_mailbox
            intake.poll_once()
            assert processed(intake) == 4
            with intake.db.session() as session:
                assert session.scalar(select(func.count(InboundMessage.id))) == 4
        finally:
            intake.close()
    assert sorted(m["In-Reply-To"] for m in sink.messages) == sorted(f"<restart-{n}@aarhus.dk>" for n in range(4))


def test_a_server_without_move_gets_copy_and_uid_expunge_that_spares_other_clients_deleted_mail(settings, smtp):
    sink, _ = smtp
    no_move = "imap_capability = IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE IDLE UIDPLUS"
    with private_dovecot(no_move) as server:
        local = pointed_at(settings, server.port, server.password)
        deliver(local, *emails(2, "nomove"))
        from imapclient import IMAPClient

        other = IMAPClient("127.0.0.1", port=server.port, ssl=False, timeout=20)
        other.login(local.mailbox.username, server.password)
        assert b"MOVE" not in other.capabilities()
        other.append("INBOX", b"From: x@y.dk\r\nSubject: someone else's\r\n\r\nhej\r\n", msg_time=MORNING)
        other.select_folder("INBOX")
        theirs = max(other.search("ALL"))
        other.add_flags([theirs], [b"\\Deleted"])  # another client's pending deletion: not ours to expunge
        intake = Intake.from_settings(local)
        intake.db.migrate()
        try:
            report = intake.poll_once()
        finally:
            intake.close()
        assert (report.processed, report.moved) == (2, 2)
        other.select_folder("INBOX", readonly=True)
        assert other.search("ALL") == [theirs]  # only our two left the inbox
        other.select_folder("Processed", readonly=True)
        assert len(other.search("ALL")) == 2
        other.logout()
    assert len(sink.messages) == 2


def test_a_connection_that_goes_silent_during_a_fetch_fails_the_poll_in_bounded_time(settings, smtp):
    sink, _ = smtp
    deliver(settings, sized_email(2_000_000, message_id="<silent@aarhus.dk>"))
    proxy = BlackHoleProxy(settings.mailbox.port, after_bytes=200_000)  # dies in the middle of the FETCH
    intake = Intake.from_settings(pointed_at(settings, proxy.port, timeout_seconds=3))
    intake.db.migrate()
    try:
        started = time.monotonic()
        with pytest.raises(MailboxError):
            intake.poll_once()
        assert time.monotonic() - started < 30  # the read timeout, never a hang
        with intake.db.session() as session:
            assert session.scalar(select(func.count(InboundMessage.id))) == 0  # nothing half-stored
        proxy.after_bytes = None
        intake.poll_once()  # the path is back
        assert processed(intake) == 1 and len(sink.messages) == 1
    finally:
        intake.close()
        proxy.close()


def test_a_connection_that_goes_silent_under_idle_is_replaced_and_wakes_a_poll(settings):
    proxy = BlackHoleProxy(settings.mailbox.port)
    local = pointed_at(settings, proxy.port, timeout_seconds=2)
    wakes: list[float] = []
    stop = threading.Event()
    watcher = IdleWatcher(local.mailbox, lambda: wakes.append(time.monotonic()), stop, renew_seconds=3)
    watcher.start()
    try:
        assert watcher.connected.wait(10)
        first = watcher.client
        proxy.black_hole()  # no FIN, no RST: the server and the worker each think the other is there
        assert wait_for(lambda: watcher.client is not first and watcher.connected.is_set(), 30)
        assert wakes, "a reconnect wakes a full poll"
        deliver(settings, *emails(1, "after-silence"))
        count = len(wakes)
        assert wait_for(lambda: len(wakes) > count, 10)
    finally:
        stop.set()
        watcher.join(30)
        proxy.close()


def test_smtp_down_for_hours_delays_replies_and_sends_each_once_when_it_is_back(settings, smtp, imap):
    sink, port = smtp
    down = settings.model_copy(deep=True)
    down.smtp.port = free_port()  # nothing listens: connection refused, hour after hour
    intake = Intake.from_settings(down)
    intake.db.migrate()
    try:
        for raw in emails(3, "smtp-down"):
            imap.append("INBOX", raw, msg_time=MORNING)
        intake.poll_once()
        now = datetime.now(UTC)
        for hours in range(1, 13):  # twelve hours of retries as the worker would make them
            send_pending(intake.db, intake.transport, down.smtp.sender, down.smtp.max_attempts,
                         now=now + timedelta(hours=hours))
        with intake.db.session() as session:
            replies = list(session.scalars(select(Reply)))
        assert [r.status for r in replies] == ["pending"] * 3 and all(r.attempts >= 8 for r in replies)
        assert all("ConnectionRefusedError" in (r.last_error or "") for r in replies)
        intake.transport.settings.port = port  # type: ignore[attr-defined]  # the relay is back
        report = send_pending(intake.db, intake.transport, down.smtp.sender, down.smtp.max_attempts,
                              now=now + timedelta(hours=15))
        assert report.sent == 3 and len(sink.messages) == 3
        send_pending(intake.db, intake.transport, down.smtp.sender, down.smtp.max_attempts,
                     now=now + timedelta(hours=20))
        assert len(sink.messages) == 3
    finally:
        intake.close()


def test_a_target_folder_another_worker_creates_first_is_used_not_a_failed_poll(settings, smtp, imap):
    """Two workers on a fresh mailbox both find no Processed folder; the second one's CREATE is refused with
    [ALREADYEXISTS] by the real Dovecot. Its poll goes on and moves its messages there."""
    deliver(settings, *emails(1, "race"))
    with open_mailbox(settings.mailbox) as box:
        assert isinstance(box, ImapMailbox)
        looked = box.client.folder_exists
        assert not looked("Processed")
        imap.create_folder("Processed")  # the other worker, between this one's LIST and its CREATE
        stale = [False]  # what this worker's LIST said, before the other worker's CREATE
        box.client.folder_exists = lambda folder: stale.pop() if stale else looked(folder)
        box.move_many([str(uid) for uid in box.client.search(["ALL"])], "Processed")
    imap.select_folder("Processed", readonly=True)
    assert len(imap.search("ALL")) == 1
