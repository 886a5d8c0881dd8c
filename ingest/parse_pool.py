"""Several bounded parse workers at once, fed ahead of the pipeline so parsing overlaps fetching and storing.

The poller stores a chunk of messages, then hands their attachments to the pool (``submit_ahead``) before it
runs the first message's pipeline; when the pipeline's form finder asks for a file, its result is usually
ready. Each worker is a :class:`FormSandbox` with the same time and memory bounds as before; a file nobody
submitted ahead is parsed on the spot. A result is handed out once and never kept: what was submitted and not
asked for is forgotten when the chunk ends (``forget_ahead``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from config import ParsingSettings
from ingest.form_sandbox import FormSandbox
from parsers.doc_converter import WarmConverter
from parsers.errors import UnreadableFile
from parsers.file_safety import OLE_MAGIC, FileKind, inspect_file
from parsers.form_file import Parse, ParseOptions, parse_converted_doc
from parsers.form_record import FormRecord

log = logging.getLogger(__name__)
Parsed = tuple[FileKind, FormRecord | None]


def worker_count(settings: ParsingSettings) -> int:
    return settings.workers or max(os.cpu_count() or 1, 1)


class ParsePool:
    """A ``parsers.form_file.Parse`` over ``len(sandboxes)`` worker processes."""

    def __init__(self, sandboxes: list[FormSandbox], converter: WarmConverter | None = None) -> None:
        self._sandboxes = sandboxes
        self._converter = converter  # .doc files: converted by a LibreOffice kept running, then read in a sandbox
        self._idle: queue.SimpleQueue[FormSandbox] = queue.SimpleQueue()
        for sandbox in sandboxes:
            self._idle.put(sandbox)
        self._executor = ThreadPoolExecutor(len(sandboxes), thread_name_prefix="uip-parse")
        self._ahead: dict[tuple[str, str], list[Future[Parsed]]] = {}  # the same file in several emails
        self._lock = threading.Lock()
        self._warmed = False

    @classmethod
    def from_settings(cls, settings: ParsingSettings) -> ParsePool:
        converter = (WarmConverter(settings.libreoffice, settings.uno_python, settings.conversions_per_office,
                                   settings.office_idle_minutes * 60)
                     if settings.libreoffice and settings.warm_libreoffice else None)
        return cls([FormSandbox.from_settings(settings) for _ in range(worker_count(settings))], converter)

    def warm_up(self) -> None:
        """Start the worker processes ahead of the first file, without waiting for them (the first call only:
        later they are replaced as they go)."""
        if self._warmed:
            return
        self._warmed = True
        for sandbox in self._sandboxes:
            self._executor.submit(sandbox.start)  # before any file submitted after this

    def warm_office(self) -> None:
        """Start LibreOffice now (without waiting for it), when .doc files go through it and none is running:
        the poll has a backlog, and a .doc in it would otherwise wait for LibreOffice to start (a second) while
        the messages before it are already done. Unused, it is ended after ``parsing.office_idle_minutes``."""
        if self._converter is not None:
            self._converter.warm_up()

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
            return sandbox(data, filename, options) if function is None else sandbox.run(function, data, filename,
                                                                                           options)
        finally:
            self._idle.put(sandbox)

    @staticmethod
    def _key(data: bytes, filename: str) -> tuple[str, str]:
        return hashlib.sha256(data).hexdigest(), filename

    def submit_ahead(self, data: bytes, filename: str, options: ParseOptions) -> None:
        """Start parsing a file the pipeline will soon ask for (a .doc: LibreOffice is started now if it
        is not running, not when a worker gets to the file)."""
        if self._converter is not None and self._maybe_doc(data, options):
            self._converter.warm_up()
        future = self._executor.submit(self._on_a_worker, data, filename, options)
        with self._lock:
            self._ahead.setdefault(self._key(data, filename), []).append(future)

    def __call__(self, data: bytes, filename: str, options: ParseOptions) -> Parsed:
        key = self._key(data, filename)
        with self._lock:
            waiting = self._ahead.get(key)
            future = waiting.pop(0) if waiting else None
            if waiting == []:
                del self._ahead[key]
        if future is None:
            return self._on_a_worker(data, filename, options)
        try:
            return future.result()  # the file's result, or its UnreadableFile / ParserCrash raised here
        finally:
            # the future holds that exception, whose traceback holds this frame: without this the cycle
            # keeps the message's bytes alive until a full garbage collection
            del future

    def forget_ahead(self) -> None:
        """Drop what was submitted and not asked for (the message failed or was a duplicate)."""
        with self._lock:
            ahead, self._ahead = self._ahead, {}
        for futures in ahead.values():
            for future in futures:
                future.cancel()

    def close(self) -> None:
        self.forget_ahead()
        self._executor.shutdown(wait=True, cancel_futures=True)
        for sandbox in self._sandboxes:
            sandbox.close()
        if self._converter is not None:
            self._converter.close()
