"""The poll's sending thread: woken after each chunk, a last run when the poll ends, its failures raised in
the poll's thread; after a failed poll it stops without another run."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from ingest.reply_sender import ReplySender
from notifications import OutboxReport


class Runs:
    """A send run that counts itself and, when told to, blocks until released or raises."""

    def __init__(self) -> None:
        self.count = 0
        self.release = threading.Event()
        self.release.set()
        self.started = threading.Event()
        self.fail: Exception | None = None

    def __call__(self, on_sent: Callable[[bytes], None] | None) -> OutboxReport:
        self.count += 1
        self.started.set()
        self.release.wait(10)
        if self.fail is not None:
            raise self.fail
        if on_sent is not None:
            on_sent(b"copy %d" % self.count)
        return OutboxReport(sent=1)


def test_finish_sends_once_more_after_the_last_commits_and_adds_up_every_run():
    runs = Runs()
    sender = ReplySender(runs, keep_copies=True)
    sender.wake()
    assert runs.started.wait(10)
    report = sender.finish()
    assert runs.count == 2 and report.sent == 2  # the woken run and the last one
    assert sender.take_copies() == [b"copy 1", b"copy 2"] and sender.take_copies() == []


def _in_its_first_run(runs: Runs) -> ReplySender:
    """A sender woken once, its first run started and held until ``runs.release`` is set."""
    runs.release.clear()
    sender = ReplySender(runs, keep_copies=False)
    sender.wake()
    assert runs.started.wait(10)
    return sender


def test_a_wake_during_a_run_is_not_lost():
    runs = Runs()
    sender = _in_its_first_run(runs)
    sender.wake()  # committed while the first run was sending
    runs.release.set()
    deadline = time.monotonic() + 10
    while runs.count < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert runs.count == 2  # a second run for that wake, before any finish
    report = sender.finish()
    assert runs.count == 3 and report.sent == 3
    assert sender.take_copies() == []  # no Sent folder: nothing collected


def test_a_failed_run_is_raised_by_finish_in_the_polls_thread():
    runs = Runs()
    runs.fail = RuntimeError("the database went away")
    sender = ReplySender(runs, keep_copies=False)
    sender.wake()
    with pytest.raises(RuntimeError, match="went away"):
        sender.finish()
    assert sender.finish() == OutboxReport()  # finished: nothing more, nothing raised again


def test_after_a_failed_poll_it_stops_without_another_run_and_raises_nothing():
    runs = Runs()
    sender = _in_its_first_run(runs)
    runs.fail = RuntimeError("relay and database both gone")
    runs.release.set()
    report = sender.finish(send_the_rest=False)
    assert runs.count == 1 and report.sent == 0


def test_done_is_called_once_on_the_senders_thread_when_it_ends_after_the_last_run():
    runs, ended = Runs(), []
    sender = ReplySender(runs, keep_copies=False, done=lambda: ended.append(threading.current_thread().name))
    sender.wake()
    assert runs.started.wait(10) and ended == []  # not between runs: the connection stays for the next one
    sender.finish()
    assert ended == ["uip-send"] and runs.count == 2


def test_done_is_called_after_a_failed_run_too():
    runs, ended = Runs(), []
    runs.fail = RuntimeError("the relay went away")
    sender = ReplySender(runs, keep_copies=False, done=lambda: ended.append(True))
    sender.wake()
    with pytest.raises(RuntimeError):
        sender.finish()
    assert ended == [True]


def test_a_sent_replys_commit_and_the_polls_next_message_take_turns_each_wait_bounded(monkeypatch):
    """On SQLite the sender commits between the poll's messages, not in SQLite's busy handler: between
    messages it goes at once; inside one it waits for that message's commit, and the poll's next message waits
    for the sender's commit to end; either wait is bounded by GAP_WAIT, and none once the poll is finishing."""
    from ingest import reply_sender

    sender = ReplySender(Runs(), keep_copies=False)
    started = time.monotonic()
    with sender.commit_turn():  # no message in its transaction
        assert time.monotonic() - started < reply_sender.GAP_WAIT / 2

    order: list[str] = []
    sender.message_started()
    committing = threading.Event()

    def send_and_commit() -> None:
        with sender.commit_turn():
            committing.set()
            order.append("reply committed")
            time.sleep(0.01)

    replying = threading.Thread(target=send_and_commit)
    replying.start()
    time.sleep(0.01)
    assert not committing.is_set()  # the message's transaction is under way
    order.append("message committed")
    sender.wake()
    sender.message_started()  # the next message: after the reply's commit
    order.append("next message began")
    replying.join(5)
    assert order == ["message committed", "reply committed", "next message began"]

    started = time.monotonic()
    with sender.commit_turn():  # inside a message, no commit comes: bounded
        assert reply_sender.GAP_WAIT * 0.9 <= time.monotonic() - started < 10

    monkeypatch.setattr(reply_sender, "GAP_WAIT", 30.0)
    entered: list[float] = []

    def commit_while_finishing() -> None:
        with sender.commit_turn():
            entered.append(time.monotonic())

    waiting = threading.Thread(target=commit_while_finishing)
    waiting.start()
    time.sleep(0.05)
    finishing = time.monotonic()
    sender.finish()
    waiting.join(5)
    assert entered and entered[0] - finishing < 5  # released by finish, not by the 30 s bound
