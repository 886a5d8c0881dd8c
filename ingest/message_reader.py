"""How the poll reads its messages: one interface, two readers. ``ParsePool`` reads each message in a
bounded parse worker (``parsing.isolate``, the default); ``InlineReader`` reads it in the poll's own process.
Both return the message's ``MessageFiles`` as a future from ``read`` and parse a file on demand when called
(the form finder's ``Parse``), so the runner and the pipeline never ask which one they have."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Protocol

from config import LimitsSettings, ParsingSettings
from ingest.file_reading import Parsed
from ingest.message_files import MessageFiles, read_message_files
from ingest.message_reading import DEFAULT_LIMITS, MessageLimits
from ingest.parse_pool import ParsePool
from parsers.form_file import Parse, ParseOptions, parse_form


class MessageReader(Protocol):
    def read(self, raw: bytes, options: ParseOptions) -> Future[MessageFiles]:
        """The message's MIME, files and (where read ahead) their readings, or its refusal; never raises."""
        ...

    def __call__(self, data: bytes, filename: str, options: ParseOptions) -> Parsed:
        """One file read as a form, now (a file without a reading)."""
        ...

    def warm_up(self) -> None:
        """Get ready for a poll (start what the first message would otherwise wait for)."""
        ...

    def retire_idle(self) -> None:
        """End what has been idle too long."""
        ...

    def close(self) -> None:
        ...


class InlineReader:
    """Reads each message in the calling process, its files parsed on demand by ``parse``."""

    def __init__(self, parse: Parse = parse_form, limits: MessageLimits = DEFAULT_LIMITS) -> None:
        self._parse = parse
        self._limits = limits

    def read(self, raw: bytes, options: ParseOptions) -> Future[MessageFiles]:
        future: Future[MessageFiles] = Future()
        future.set_result(read_message_files(raw, options, self._limits))
        return future

    def __call__(self, data: bytes, filename: str, options: ParseOptions) -> Parsed:
        return self._parse(data, filename, options)

    def warm_up(self) -> None:
        pass

    def retire_idle(self) -> None:
        pass

    def close(self) -> None:
        pass


def reader_for(parsing: ParsingSettings, limits: LimitsSettings) -> MessageReader:
    """The reader the settings ask for: bounded parse workers (``parsing.isolate``), else the poll's process."""
    if parsing.isolate:
        return ParsePool.from_settings(parsing, limits)
    return InlineReader(limits=MessageLimits.from_settings(limits))
