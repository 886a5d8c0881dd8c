"""A whole message read in a parse worker: its MIME parsed within ``MessageLimits``, its attached files taken
out, and each file read as a form there and then (or refused, with the reason as data).

The poll hands each stored message's bytes to the parse pool (``ParsePool.submit_message``) and gets back
the parsed message, its files and their readings, so the email package's parser (the largest cost of a
message after the database) and the form reading both run beside the pipeline, in a bounded process. The
raw message was archived and its row written before it gets here. A message beyond its limits, or whose
reading ran out of the memory budget there, comes back refused (``MessageFiles.refusal``: the structure stage
quarantines it, and it is never parsed in the poll's own process); when the worker itself failed, ``None``, and
the pipeline reads it as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from ingest.form_sandbox import outcome_of
from ingest.message_reading import OVER_MEMORY_BUDGET, MessageLimits, MessageStructureError, read_message
from ingest.mime import MimePart, attachments
from parsers.file_safety import OLE_MAGIC
from parsers.form_file import Parse, ParseOptions

# this module runs in the parse workers: it imports no database layer (storage), which would cost each ~30 MB

ELSEWHERE = ("elsewhere",)  # a file the pool reads itself (a .doc for the LibreOffice it keeps running)


@dataclass
class MessageFiles:
    """The parsed message, its attached files in order, and for each file what reading it gave
    (``form_sandbox.outcome_of``'s data, or ``ELSEWHERE``); or, not parsed, the limit it broke."""

    parsed: EmailMessage | None
    parts: list[MimePart]
    outcomes: list[tuple[Any, ...]]
    refusal: tuple[str, str] | None = None  # (the limit's code, detail): as data, to cross the pipe


def read_message_files(raw: bytes, options: ParseOptions, ole_elsewhere: bool, parse: Parse,
                       limits: MessageLimits) -> MessageFiles:
    """Runs in a parse worker; each file is read by ``parse``. Refused when the message is beyond ``limits``
    or reading its MIME ran out of the worker's memory budget; with ``ole_elsewhere``, OLE files (a .doc) are
    left to the pool."""
    try:
        parsed = read_message(raw, limits)
        parts = attachments(parsed)
    except MessageStructureError as error:
        return MessageFiles(None, [], [], (error.code, error.detail))
    except MemoryError:
        return MessageFiles(None, [], [], (OVER_MEMORY_BUDGET,
                                           f"reading it took more than {limits.max_memory_mb} MB"))
    outcomes = [ELSEWHERE if ole_elsewhere and part.data.startswith(OLE_MAGIC)
                else outcome_of(parse, (part.data, part.filename, options), part.filename) for part in parts]
    return MessageFiles(parsed, parts, outcomes)
