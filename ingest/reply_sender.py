"""The poll's replies sent while the poll goes on: a thread of the poll sends each message's reply once
the message is committed, while the next messages run, instead of every reply waiting for the last message
(and, at the end of a poll, the last chunk's replies being sent one by one after its last commit).

Nothing changes in what is sent or when a reply counts as sent: the thread runs the ordinary
:func:`notifications.send_pending` (each reply claimed, sent and committed on its own) each time it is woken
after a message's commit (wakes during a run make one more run), and once more when the poll finishes, so
what was committed last goes too. Its runs share one SMTP connection, closed when the thread ends.
The Sent-folder copies are only collected here: the poll appends them on its own IMAP connection (one
connection is never used by two threads). A failure of a run is kept and raised by :meth:`finish`, in the
poll's thread, as it was raised before by the poll's own sending.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from notifications import OutboxReport

log = logging.getLogger(__name__)
SendRun = Callable[[Callable[[bytes], None] | None], OutboxReport]
GAP_WAIT = 0.05  # seconds the sender's commit and the poll's next message wait at most for each other (SQLite)


class ReplySender:
    """Runs ``send_run`` on its own thread each time it is woken, and a last time on :meth:`finish`."""

    def __init__(self, send_run: SendRun, keep_copies: bool, done: Callable[[], None] | None = None) -> None:
        self._send_run = send_run
        self._done = done  # called on its thread once it sends no more (the transport's connection closed)
        self._keep_copies = keep_copies
        self._copies: list[bytes] = []
        self._copies_lock = threading.Lock()
        self._wake = threading.Event()
        self._turns = threading.Condition()  # the poll's thread: inside a message's transaction, or between two
        self._in_message = False
        self._wants_to_commit = False
        self._finishing = False
        self._error: BaseException | None = None
        self.report = OutboxReport()
        self._thread = threading.Thread(target=self._serve, name="uip-send", daemon=True)
        self._thread.start()

    def message_started(self) -> None:
        """The poll's thread is about to begin a message's transaction: a sent reply waiting to be committed
        goes first (at most ``GAP_WAIT``; see :meth:`commit_turn`)."""
        with self._turns:
            self._turns.wait_for(lambda: not self._wants_to_commit, GAP_WAIT)
            self._in_message = True

    def wake(self) -> None:
        """Replies were committed: send them (at once, or after the run in progress)."""
        with self._turns:
            self._in_message = False
            self._turns.notify_all()
        self._wake.set()

    @contextmanager
    def commit_turn(self) -> Iterator[None]:
        """Around a sent reply's commit, on SQLite (one writer at a time): while the poll's thread is inside a
        message's transaction, wait for its commit (at most ``GAP_WAIT``), and the poll's thread lets this
        commit go before it begins the next message. Left to SQLite's busy handler, whose sleeps grow to 25 ms,
        the commit slept through the poll's short gaps between messages, a cycle or more each time. No
        database lock is held while waiting, and either wait is bounded: nothing can wait on the other."""
        with self._turns:
            self._wants_to_commit = True
            self._turns.wait_for(lambda: not self._in_message or self._finishing, GAP_WAIT)
        try:
            yield
        finally:
            with self._turns:
                self._wants_to_commit = False
                self._turns.notify_all()

    def take_copies(self) -> list[bytes]:
        """The sent replies' bytes collected since the last call, for the Sent folder."""
        with self._copies_lock:
            copies, self._copies = self._copies, []
        return copies

    def _keep(self, raw: bytes) -> None:
        with self._copies_lock:
            self._copies.append(raw)

    def _serve(self) -> None:
        try:
            self._runs()
        finally:
            if self._done is not None:
                try:
                    self._done()
                except Exception:  # the replies are sent and committed: a failed QUIT is no failure of theirs
                    log.warning("closing the poll's SMTP connection failed", exc_info=True)

    def _runs(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            last = self._finishing
            try:
                run = self._send_run(self._keep if self._keep_copies else None)
            except BaseException as error:  # raised in the poll's thread by finish()
                self._error = error
                return
            self.report.sent += run.sent
            self.report.deferred += run.deferred
            self.report.failed += run.failed
            if last:
                return

    def finish(self, send_the_rest: bool = True) -> OutboxReport:
        """Wait for the thread: after one last run when ``send_the_rest`` (the poll's commits are all made),
        and raise what a run raised; else (the poll failed, its own error is on its way) after the run in
        progress only: what is pending goes at the next poll. Once finished, does nothing more."""
        if self._finishing:  # finished already (a poll that failed after it): nothing more to wait for
            return self.report
        with self._turns:
            self._finishing = True  # no more commits of the poll's to wait for
            self._turns.notify_all()
        if not send_the_rest:
            self._send_run = _nothing
        self._wake.set()
        self._thread.join()
        if self._error is not None:
            if send_the_rest:
                raise self._error
            log.error("sending the poll's replies failed too: %r", self._error)  # the poll's error is raised
        return self.report


def _nothing(_on_sent: Callable[[bytes], None] | None) -> OutboxReport:
    return OutboxReport()
