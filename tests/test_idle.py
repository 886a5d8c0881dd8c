"""IMAP IDLE against the private Dovecot: new mail is processed within seconds, not at the next interval."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from ingest.demo import application_email, complete_values, to_bytes
from ingest.idle import IdleWatcher
from ingest.worker import run_worker
from storage import InboundMessage

pytestmark = pytest.mark.servers


def processed(intake) -> int:
    with intake.db.session() as session:
        return session.scalar(select(func.count(InboundMessage.id)).where(InboundMessage.state == "processed")) or 0


def wait_for(condition, seconds: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if condition():
            return time.monotonic() - started
        time.sleep(0.05)
    return None


def test_idle_picks_up_a_new_message_within_two_seconds_while_the_interval_is_an_hour(intake, imap, smtp):
    intake.settings.mailbox.poll_seconds = 3600
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(intake, stop), daemon=True)
    worker.start()
    try:
        time.sleep(1.0)  # the first poll (at start) has run on an empty inbox, IDLE is established
        imap.append("INBOX", to_bytes(application_email(complete_values())), msg_time=datetime.now(UTC))
        took = wait_for(lambda: processed(intake) == 1, 10)
        assert took is not None and took < 2.0, took
    finally:
        stop.set()
        worker.join(30)
    assert not worker.is_alive()


def test_idle_reconnects_after_the_connection_dies_and_wakes_a_full_poll(settings, imap):
    wakes: list[str] = []
    stop = threading.Event()
    watcher = IdleWatcher(settings.mailbox, lambda: wakes.append("wake"), stop)
    watcher.start()
    try:
        assert watcher.connected.wait(10)
        imap.append("INBOX", to_bytes(application_email(complete_values())), msg_time=datetime.now(UTC))
        assert wait_for(lambda: len(wakes) == 1, 5) is not None
        first = watcher.client
        assert first is not None and wait_for(watcher.connected.is_set, 5) is not None
        first.shutdown()  # the connection dies under the IDLE
        assert wait_for(lambda: len(wakes) == 2 and watcher.client is not first, 15) is not None
        assert watcher.connected.wait(10)
        imap.append("INBOX", to_bytes(application_email(complete_values())), msg_time=datetime.now(UTC))
        assert wait_for(lambda: len(wakes) == 3, 5) is not None
    finally:
        stop.set()
        watcher.join(30)
    assert not watcher.is_alive()


def test_the_watcher_survives_a_socket_closed_between_two_commands(settings, monkeypatch):
    """imaplib raises ValueError ("readline of closed file") when the connection died between DONE and the next
    IDLE; the watcher thread once died of it, leaving only the interval poll. It must reconnect and wake."""
    real = IdleWatcher._watch
    failures: list[str] = []

    def closed_once(self, client):
        if not failures:
            failures.append("closed")
            raise ValueError("readline of closed file")
        return real(self, client)

    monkeypatch.setattr(IdleWatcher, "_watch", closed_once)
    wakes: list[str] = []
    stop = threading.Event()
    watcher = IdleWatcher(settings.mailbox, lambda: wakes.append("wake"), stop)
    watcher.start()
    try:
        assert watcher.connected.wait(15)  # the second connection is in IDLE
        assert failures == ["closed"] and wakes == ["wake"]  # and the reconnect woke a full poll
    finally:
        stop.set()
        watcher.join(30)
    assert not watcher.is_alive()


def test_a_wake_that_came_as_the_previous_poll_ended_asks_for_a_poll_again_instead_of_waiting_an_interval():
    import threading
    from datetime import UTC, datetime

    from ingest.worker import again_if_woken

    class Scheduler:
        def __init__(self) -> None:
            self.asked: list[datetime] = []

        def modify_job(self, job_id: str, next_run_time: datetime) -> None:
            self.asked.append(next_run_time)

    wake, scheduler = threading.Event(), Scheduler()
    again_if_woken(scheduler, wake)  # type: ignore[arg-type]
    assert scheduler.asked == []  # nothing announced: the skip was harmless
    wake.set()
    again_if_woken(scheduler, wake)  # type: ignore[arg-type]
    assert len(scheduler.asked) == 1 and (scheduler.asked[0] - datetime.now(UTC)).total_seconds() < 1
