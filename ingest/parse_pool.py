"""Several bounded parse workers at once, fed ahead of the pipeline so parsing overlaps fetching and storing.

The poller stores a chunk of messages, then hands each one's bytes to the pool (``submit_message``) before it
runs the first message's pipeline. A worker parses the message's MIME, takes out its files and reads each
as a form; when the pipeline's form finder asks for a file, its reading is usually ready, and the poll's
own thread never ran the email parser. A .doc goes to the LibreOffice kept running, then to a worker. Each
worker is a :class:`FormSandbox` with the same time and memory bounds as before; a file nobody read ahead
is parsed on the spot. A result is handed out once and never kept: what was read for a chunk and not asked
for is forgotten when the chunk ends (``forget_ahead(batch)``; the next chunk, read meanwhile, keeps its own).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from config import LimitsSettings, ParsingSettings
from ingest.form_sandbox import FormSandbox, ParserCrash, failure_of, spent
from ingest.message_files import ELSEWHERE, MessageFiles, read_message_files
from ingest.message_reading import DEFAULT_LIMITS, OVER_MEMORY_BUDGET, MessageLimits
from parsers.doc_converter import WarmConverter
from parsers.errors import UnreadableFile
from parsers.file_safety import OLE_MAGIC, FileKind, inspect_file
from parsers.form_file import Parse, ParseOptions, parse_converted_doc
from parsers.form_record import FormRecord

log = logging.getLogger(__name__)
Parsed = tuple[FileKind, FormRecord | None]
Batch = int  # what was submitted for one chunk (``ParsePool.new_batch``); 0: no chunk (forgotten with any)


def worker_count(settings: ParsingSettings) -> int:
    return settings.workers or max(os.cpu_count() or 1, 1)


class ParsePool:
    """A ``parsers.form_file.Parse`` over ``len(sandboxes)`` worker processes."""

    def __init__(self, sandboxes: list[FormSandbox], converter: WarmConverter | None = None,
                 limits: MessageLimits = DEFAULT_LIMITS) -> None:
        self._sandboxes = sandboxes
        self._limits = limits
        self._converter = converter  # .doc files: converted by a LibreOffice kept running, then read in a sandbox
        self._idle: queue.SimpleQueue[FormSandbox] = queue.SimpleQueue()
        for sandbox in sandboxes:
            self._idle.put(sandbox)
        self._executor = ThreadPoolExecutor(len(sandboxes), thread_name_prefix="uip-parse")
        # by the file's bytes object (and name); the same file in several emails is held once for each
        self._ahead: dict[tuple[int, str], list[tuple[bytes, Future[Parsed], Batch]]] = {}
        self._messages: dict[Future[MessageFiles | None], Batch] = {}  # submitted, not yet read
        self._lock = threading.Lock()
        self._warmed = False
        self._batches = 0  # the last batch handed out
        self._forgotten = 0  # every batch up to this one is forgotten: what it still reads is dropped

    @classmethod
    def from_settings(cls, settings: ParsingSettings, limits: LimitsSettings | None = None) -> ParsePool:
        """The pool ``settings`` ask for; each message read within ``limits`` (its structure, its memory)."""
        message_limits = MessageLimits.from_settings(limits) if limits is not None else DEFAULT_LIMITS
        converter = (WarmConverter(settings.libreoffice, settings.uno_python, settings.conversions_per_office,
                                   settings.office_idle_minutes * 60)
                     if settings.libreoffice and settings.warm_libreoffice else None)
        return cls([FormSandbox.from_settings(settings, message_limits.max_memory_mb)
                    for _ in range(worker_count(settings))], converter, message_limits)

    def warm_up(self) -> None:
        """Start the worker processes ahead of the first file, without waiting for them (the first call only:
        later they are replaced as they go)."""
        if self._warmed:
            return
        self._warmed = True
        for sandbox in self._sandboxes:
            self._executor.submit(sandbox.start)  # before any file submitted after this

    def retire_idle(self) -> None:
        """End the LibreOffice kept running if it has been idle for ``parsing.office_idle_minutes``."""
        if self._converter is not None and self._converter.retire_if_idle():
            log.info("the LibreOffice kept for .doc files was idle: ended until the next .doc")

    @property
    def workers(self) -> int:
        return len(self._sandboxes)

    @staticmethod
    def _maybe_doc(data: bytes, options: ParseOptions) -> bool:
        """A file the converter may be asked for: an OLE file (.doc and others), with LibreOffice set."""
        return bool(options.libreoffice) and data.startswith(OLE_MAGIC)

    def _on_a_worker(self, data: bytes, filename: str, options: ParseOptions) -> Parsed:
        # a .doc is checked for encryption and macros first (byte patterns only: nothing is opened here)
        if (self._converter is not None and self._maybe_doc(data, options)
                and inspect_file(data, filename).kind == "doc"):
            try:
                converted = self._converter.convert(data, options.convert_timeout)
            except UnreadableFile as error:
                raise error.naming(filename) from error
            return self._on_a_sandbox(parse_converted_doc, converted, filename, options)
        return self._on_a_sandbox(None, data, filename, options)

    def _on_a_sandbox(self, function: Parse | None, data: bytes, filename: str, options: ParseOptions) -> Parsed:
        sandbox = self._idle.get()
        try:
            return sandbox.call(function or sandbox.parse_function, (data, filename, options), filename)
        finally:
            self._idle.put(sandbox)

    def new_batch(self) -> Batch:
        """A token for what is submitted for one chunk, to forget it (and only it) when the chunk ends."""
        with self._lock:
            self._batches += 1
            return self._batches

    def submit_message(self, raw: bytes, options: ParseOptions, batch: Batch = 0) -> Future[MessageFiles | None]:
        """Read a whole message in a worker ahead of the pipeline: its MIME, its attached files, and each file
        as a form. The files' readings are handed out when the form finder asks for those very files (the
        ``MimePart.data`` objects of the result). Refused (``MessageFiles.refusal``) when the message is beyond
        its limits or its memory budget; None when the worker failed on it: the pipeline then reads it itself,
        as without a pool."""
        future = self._executor.submit(self._read_message, raw, options, batch)
        with self._lock:
            self._messages[future] = batch
        future.add_done_callback(self._read)  # its result is the pipeline's to hold, and to let go of
        return future

    def _read(self, future: Future[MessageFiles | None]) -> None:
        with self._lock:
            self._messages.pop(future, None)

    def _read_message(self, raw: bytes, options: ParseOptions, batch: Batch = 0) -> MessageFiles | None:
        elsewhere = self._converter is not None and bool(options.libreoffice)
        sandbox = self._idle.get()
        try:
            files = sandbox.call(read_message_files,
                                 (raw, options, elsewhere, sandbox.parse_function, self._limits), "message.eml")
            over_budget = files.refusal is not None and files.refusal[0] == OVER_MEMORY_BUDGET
            if over_budget or any(spent(outcome) for outcome in files.outcomes):
                sandbox.close()  # ran out of memory: not trusted with the next one (started afresh)
        except (UnreadableFile, ParserCrash) as error:
            log.warning("reading a message in a parse worker failed (%s); the pipeline reads it", error)
            return None
        finally:
            self._idle.put(sandbox)
        if files.refusal is not None:
            return files  # beyond its limits: quarantined, never parsed in the poll's own process
        for part, outcome in zip(files.parts, files.outcomes, strict=True):
            if outcome == ELSEWHERE:
                self.submit_ahead(part.data, part.filename, options, batch)
                continue
            future: Future[Parsed] = Future()
            failure = failure_of(outcome, part.filename)
            if failure is None:
                future.set_result(outcome[1])
            else:
                future.set_exception(failure)
            self._hold(part.data, part.filename, future, batch)
        return files

    def submit_ahead(self, data: bytes, filename: str, options: ParseOptions, batch: Batch = 0) -> None:
        """Start parsing a file the pipeline will soon ask for (a .doc: LibreOffice is started now if it
        is not running, not when a worker gets to the file)."""
        if self._converter is not None and self._maybe_doc(data, options):
            self._converter.warm_up()
        self._hold(data, filename, self._executor.submit(self._on_a_worker, data, filename, options), batch)

    def _hold(self, data: bytes, filename: str, future: Future[Parsed], batch: Batch) -> None:
        with self._lock:
            if batch and batch <= self._forgotten:  # its chunk ended while it was being read: not kept
                future.cancel()
                return
            self._ahead.setdefault((id(data), filename), []).append((data, future, batch))

    def _take(self, data: bytes, filename: str) -> Future[Parsed] | None:
        """The future held for this very file (the same bytes object: no hashing), else for equal bytes."""
        with self._lock:
            key = (id(data), filename)  # held, the bytes object is alive: no other object has its id
            if key not in self._ahead:
                key = next((k for k, entries in self._ahead.items()
                            if k[1] == filename and len(entries[0][0]) == len(data) and entries[0][0] == data), key)
            held = self._ahead.get(key)
            if not held:
                return None
            _, future, _ = held.pop(0)
            if not held:
                del self._ahead[key]
            return future

    def __call__(self, data: bytes, filename: str, options: ParseOptions) -> Parsed:
        future = self._take(data, filename)
        if future is None:
            return self._on_a_worker(data, filename, options)
        try:
            return future.result()  # the file's result, or its UnreadableFile / ParserCrash raised here
        finally:
            # the future holds that exception, whose traceback holds this frame: without this the cycle
            # keeps the message's bytes alive until a full garbage collection
            del future

    def forget_ahead(self, batch: Batch | None = None) -> None:
        """Drop what was submitted and not asked for (the message failed or was a duplicate): for ``batch`` and
        the batches before it (what they still read is dropped when it is done), or everything."""
        with self._lock:
            if batch is None:
                batch = self._batches
            self._forgotten = max(self._forgotten, batch)
            dropped: list[Future[Any]] = [future for future, of in self._messages.items() if of <= batch]
            for future in dropped:
                del self._messages[future]
            for key, held in list(self._ahead.items()):
                dropped += [future for _, future, of in held if of <= batch]
                kept = [entry for entry in held if entry[2] > batch]
                if kept:
                    self._ahead[key] = kept
                else:
                    del self._ahead[key]
        for future in dropped:
            future.cancel()

    def close(self) -> None:
        self.forget_ahead()
        self._executor.shutdown(wait=True, cancel_futures=True)
        for sandbox in self._sandboxes:
            sandbox.close()
        if self._converter is not None:
            self._converter.close()
