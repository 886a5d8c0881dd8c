"""A whole message read in a parse worker: its MIME parsed within ``MessageLimits``, its attached files taken
out, and each file read as a form there and then (or refused, with the reason as data).

The poll hands each stored message's bytes to the parse pool (``ParsePool.submit_message``) and gets back
the parsed message, its files and their readings, so the email package's parser (the largest cost of a
message after the database) and the form reading both run beside the pipeline, in a bounded process. The
raw message was archived and its row written before it gets here; a message the worker cannot read (beyond
the limits, or the worker failed) comes back as ``None`` and the pipeline reads it as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from ingest.form_sandbox import outcome_of
from ingest.message_reading import MessageStructureError, read_message
from ingest.mime import MimePart, attachments
from parsers.file_safety import OLE_MAGIC
from parsers.form_file import Parse, ParseOptions

ELSEWHERE = ("elsewhere",)  # a file the pool reads itself (a .doc for the LibreOffice it keeps running)


@dataclass
class MessageFiles:
    """The parsed message, its attached files in order, and for each file what reading it gave
    (``form_sandbox.outcome_of``'s data, or ``ELSEWHERE``)."""

    parsed: EmailMessage
    parts: list[MimePart]
    outcomes: list[tuple[Any, ...]]


def read_message_files(raw: bytes, options: ParseOptions, ole_elsewhere: bool, parse: Parse) -> MessageFiles | None:
    """Runs in a parse worker; each file is read by ``parse``. None when the message is beyond
    ``MessageLimits`` (the structure stage quarantines it, naming the limit); with ``ole_elsewhere``, OLE
    files (a .doc) are left to the pool."""
    try:
        parsed = read_message(raw)
    except MessageStructureError:
        return None
    parts = attachments(parsed)
    outcomes = [ELSEWHERE if ole_elsewhere and part.data.startswith(OLE_MAGIC)
                else outcome_of(parse, (part.data, part.filename, options), part.filename) for part in parts]
    return MessageFiles(parsed, parts, outcomes)
