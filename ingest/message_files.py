"""A whole message read: its MIME parsed within ``MessageLimits``, its attached files taken out, and (in a
parse worker) each file read as a form there and then, the reading carried on its part.

The fetch step hands each stored message's bytes to the message reader (``read``: a pool of parse workers,
or the poll's own process with ``parsing.isolate`` off) and the process step gives the pipeline what came
back. The raw message was archived and its row written before it gets here. A message beyond its limits, or
whose reading ran out of the memory budget, comes back refused (``MessageFiles.refusal``: the structure
stage quarantines it, and it is never parsed again).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from email.message import EmailMessage

from ingest.file_reading import Reading
from ingest.form_sandbox import outcome_of
from ingest.message_reading import OVER_MEMORY_BUDGET, MessageLimits, MessageStructureError, read_message
from ingest.mime import MimePart, attachments
from parsers.file_safety import OLE_MAGIC
from parsers.form_file import Parse, ParseOptions

# this module runs in the parse workers: it imports no database layer (storage), which would cost each ~30 MB


@dataclass
class MessageFiles:
    """The parsed message and its attached files in order (each with its reading, when it was read ahead);
    or, not parsed, the limit it broke."""

    parsed: EmailMessage | None
    parts: list[MimePart]
    refusal: tuple[str, str] | None = None  # (the limit's code, detail): as data, to cross the pipe

    def cancel_readings(self) -> None:
        """The readings still under way are not wanted (the message is done)."""
        for part in self.parts:
            if part.reading is not None:
                part.reading.cancel()


def read_message_files(raw: bytes, options: ParseOptions, limits: MessageLimits, parse: Parse | None = None,
                       ole_elsewhere: bool = False) -> MessageFiles:
    """The message parsed within ``limits`` and its files taken out; with ``parse``, each file read by it (a
    parse worker's), except OLE files (a .doc) with ``ole_elsewhere``, left to the pool. Refused when the
    message is beyond ``limits`` or reading its MIME ran out of memory."""
    try:
        parsed = read_message(raw, limits)
        parts = attachments(parsed)
    except MessageStructureError as error:
        return MessageFiles(None, [], (error.code, error.detail))
    except MemoryError:
        return MessageFiles(None, [], (OVER_MEMORY_BUDGET, f"reading it took more than {limits.max_memory_mb} MB"))
    if parse is not None:
        parts = [part if ole_elsewhere and part.data.startswith(OLE_MAGIC) else
                 replace(part, reading=Reading(part.filename, outcome_of(parse, (part.data, part.filename, options),
                                                                         part.filename)))
                 for part in parts]
    return MessageFiles(parsed, parts)
