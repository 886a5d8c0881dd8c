"""Several bounded parse workers at once, fed ahead of the pipeline so parsing overlaps fetching and storing.

The fetch step hands each archived message's bytes to the pool (``read``) before the process step runs its
pipeline. A worker parses the message's MIME, takes out its files and reads each as a form, the reading
carried on the file's part (``MimePart.reading``): the form finder uses it, and the poll's own thread never
ran the email parser. A .doc goes to the LibreOffice kept running, then to a worker. Each worker is a
:class:`FormSandbox` with its time and memory bounds; a file without a reading is parsed on the spot (the
pool called as a ``Parse``). Nothing is kept in the pool: a message's readings go when the message does.
"""

from __future__ import annotations

import logging
import os
import queue
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

from config import LimitsSettings, ParsingSettings
from ingest.file_reading import Parsed, Reading
from ingest.form_sandbox import FormSandbox, ParserCrash, outcome_of
from ingest.message_files import MessageFiles, read_message_files
from ingest.message_reading import DEFAULT_LIMITS, OVER_MEMORY_BUDGET, MessageLimits
from parsers.doc_converter import WarmConverter
from parsers.errors import UnreadableFile
from parsers.file_safety import OLE_MAGIC, inspect_file
from parsers.form_file import Parse, ParseOptions, parse_converted_doc

log = logging.getLogger(__name__)


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
        self._warmed = False

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

    def read(self, raw: bytes, options: ParseOptions) -> Future[MessageFiles]:
        """Read a whole message in a worker ahead of the pipeline: its MIME, its attached files, and each file
        as a form, each reading carried on its part (a .doc's under way on the LibreOffice kept running).
        Refused (``MessageFiles.refusal``) when the message is beyond its limits or its memory budget. When
        the worker itself failed on it, the message is read here, its files then parsed on demand."""
        return self._executor.submit(self._read_message, raw, options)

    def _read_message(self, raw: bytes, options: ParseOptions) -> MessageFiles:
        elsewhere = self._converter is not None and bool(options.libreoffice)
        sandbox = self._idle.get()
        try:
            files = sandbox.call(read_message_files, (raw, options, self._limits, sandbox.parse_function, elsewhere),
                                 "message.eml")
            over_budget = files.refusal is not None and files.refusal[0] == OVER_MEMORY_BUDGET
            if over_budget or any(part.reading is not None and part.reading.spent for part in files.parts):
                sandbox.close()  # ran out of memory: not trusted with the next one (started afresh)
        except (UnreadableFile, ParserCrash) as error:
            log.warning("reading a message in a parse worker failed (%s); read here instead", error)
            return read_message_files(raw, options, self._limits)
        finally:
            self._idle.put(sandbox)
        if elsewhere:
            files.parts = [part if part.reading is not None or not self._maybe_doc(part.data, options)
                           else replace(part, reading=self._under_way(part.data, part.filename, options))
                           for part in files.parts]
        return files

    def _under_way(self, data: bytes, filename: str, options: ParseOptions) -> Reading:
        """A .doc's reading, started now (LibreOffice too, if it is not running)."""
        if self._converter is not None:
            self._converter.warm_up()
        return Reading(filename, under_way=self._executor.submit(outcome_of, self._on_a_worker,
                                                                 (data, filename, options), filename))

    def __call__(self, data: bytes, filename: str, options: ParseOptions) -> Parsed:
        return self._on_a_worker(data, filename, options)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        for sandbox in self._sandboxes:
            sandbox.close()
        if self._converter is not None:
            self._converter.close()
