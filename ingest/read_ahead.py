"""A poll's chunks, each one read while the one before it runs.

The next chunk's messages are claimed, fetched, archived and handed to the parse pool (``prepare_chunk``) on
a thread of its own while this chunk's rows are written and its pipelines run on the poll's thread
(``run_chunk``). So the poll's thread no longer waits at each chunk's start for the FETCH, the archive's
fsyncs and the first readings, and a large message is being read before its chunk begins.

Nothing changes in what is done, in what order, or what is committed when: the pipelines run one chunk after
the other in the mailbox's order (reference numbers follow arrival); a raw message is archived before its
row is written; the next chunk's FETCH is done before this chunk's MOVE, so the mailbox's connection is
used by one thread at a time. At most two chunks' bodies are held at once (``CHUNK_BYTES`` each).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from ingest.chunk import PreparedChunk, chunks, finish_chunk, prepare_chunk, run_chunk
from ingest.mailbox import Mailbox, MailboxEntry
from ingest.poll_report import PollReport

if TYPE_CHECKING:
    from ingest.poller import Intake


def handle_chunks(intake: Intake, mailbox: Mailbox, entries: list[MailboxEntry], report: PollReport,
                  started: Callable[[], None] = lambda: None, committed: Callable[[], None] = lambda: None,
                  after_each: Callable[[], None] = lambda: None) -> None:
    """Every chunk of ``entries`` in turn, the next one prepared meanwhile; ``started`` and ``committed`` are
    called before and after each message's transaction, ``after_each`` after each chunk's MOVE (on this thread,
    the mailbox's connection free)."""
    todo = deque(chunks(entries, intake.settings.call.max_message_bytes))
    if not todo:
        return
    with ThreadPoolExecutor(1, thread_name_prefix="uip-read-ahead") as reader:
        prepared: PreparedChunk | None = prepare_chunk(intake, mailbox, todo.popleft())
        while prepared is not None:
            following = reader.submit(prepare_chunk, intake, mailbox, todo.popleft()) if todo else None
            try:
                run_chunk(intake, prepared, report, started, committed)
            except BaseException:
                _let_go(intake, following)  # the poll stops: the next chunk is left as it was found
                raise
            next_chunk, error = _wait(following)  # its FETCH is done before this chunk's MOVE
            try:
                finish_chunk(intake, mailbox, prepared, report)
                after_each()
            except BaseException:
                if next_chunk is not None:
                    next_chunk.release()
                raise
            if error is not None:
                raise error  # an outage met while preparing the next chunk: this one was finished first
            prepared = next_chunk


def _wait(following: Future[PreparedChunk] | None) -> tuple[PreparedChunk | None, BaseException | None]:
    if following is None:
        return None, None
    error = following.exception()
    return (None, error) if error is not None else (following.result(), None)


def _let_go(intake: Intake, following: Future[PreparedChunk] | None) -> None:
    """Wait for the chunk being prepared, then release its claims and forget its readings."""
    next_chunk, _ = _wait(following)  # its own failure, if any, is not the poll's error
    if next_chunk is not None:
        next_chunk.release()
