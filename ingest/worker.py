"""The scheduled worker: APScheduler runs one poll at a time, every ``poll_seconds``; SIGTERM stops it."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from datetime import UTC, datetime, timedelta
from types import FrameType

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from ingest.errors import OUTAGES, MailboxError, WorkerConflict
from ingest.graph_delta import DeltaWatcher
from ingest.idle import IdleWatcher
from ingest.poller import Intake

log = logging.getLogger(__name__)


def poll_job(intake: Intake, wake: threading.Event | None = None) -> None:
    """One poll; again at once while IDLE announced new mail during it."""
    while True:
        if wake is not None:
            wake.clear()
        _poll(intake)
        if wake is None or not wake.is_set():
            return


def _poll(intake: Intake) -> None:
    try:
        report = intake.poll_once()
    except WorkerConflict as error:
        log.error("poll refused: %s", error)
        return
    except OUTAGES as error:  # reported (in /healthz too), retried at the next interval; replies still go out
        log.error("poll failed: %s", error)
        if not isinstance(error, MailboxError):
            return
        intake.send_replies()
        return
    if report.seen or (report.outbox and (report.outbox.sent or report.outbox.deferred)):
        log.info("poll: %d seen, %d processed, %d moved, %d errors, outcomes %s, outbox %s",
                 report.seen, report.processed, report.moved, report.errors, report.outcomes, report.outbox)


def again_if_woken(scheduler: BackgroundScheduler, wake: threading.Event) -> None:
    """IDLE announced mail just as the running poll was finishing (after it looked at ``wake``, before the
    scheduler saw it end), so the run that was asked for was skipped: ask again, a moment later. Without this
    the email waits for the next interval."""
    if wake.is_set():
        with contextlib.suppress(Exception):  # the scheduler is shutting down
            scheduler.modify_job("poll", next_run_time=datetime.now(UTC) + timedelta(milliseconds=200))


def run_worker(intake: Intake, stop: threading.Event | None = None) -> None:
    """Poll now and then every interval until SIGTERM/SIGINT (or ``stop`` is set)."""
    stop = stop or threading.Event()
    intake.take_lease()  # on SQLite, refuse to start beside another worker (WorkerConflict)
    scheduler = BackgroundScheduler(executors={"default": ThreadPoolExecutor(1)}, timezone="UTC")

    wake = threading.Event()

    def _on_event(event: JobExecutionEvent) -> None:
        if event.code == EVENT_JOB_MAX_INSTANCES:
            log.info("previous poll still running; this one skipped")
            again_if_woken(scheduler, wake)
        elif event.exception is not None:
            log.error("poll crashed: %r", event.exception)

    scheduler.add_listener(_on_event, EVENT_JOB_ERROR | EVENT_JOB_MAX_INSTANCES)
    scheduler.add_job(poll_job, "interval", args=[intake, wake], seconds=intake.settings.mailbox.poll_seconds,
                      id="poll", max_instances=1, coalesce=True, next_run_time=datetime.now(UTC))

    def _wake() -> None:
        wake.set()
        try:
            scheduler.modify_job("poll", next_run_time=datetime.now(UTC))
        except Exception as error:  # the scheduler is shutting down
            log.debug("could not schedule a poll: %s", error)

    mailbox = intake.settings.mailbox
    watcher: threading.Thread | None = None
    if mailbox.idle and mailbox.protocol == "imap":
        watcher = IdleWatcher(mailbox, _wake, stop)
    elif mailbox.idle and mailbox.protocol == "graph":
        watcher = DeltaWatcher(mailbox, intake.db, _wake, stop)

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the current poll", signal.Signals(signum).name)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    scheduler.start()
    if watcher is not None:
        watcher.start()
    log.info("worker started: polling %s every %ss", intake.settings.mailbox.protocol,
             intake.settings.mailbox.poll_seconds)
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)  # let a poll in progress finish its message and commit
        intake.close()
        log.info("worker stopped")
