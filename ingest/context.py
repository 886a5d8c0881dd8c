"""The typed context one message carries through the pipeline (instead of an untyped dict)."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage

from sqlalchemy.orm import Session

from config import Settings
from config.rounds import Round
from ingest.message_files import MessageFiles
from ingest.mime import MimePart
from parsers import ParsedForm, Problem
from parsers.form_file import Parse, ParseOptions, parse_form
from storage import Application, Archive, Attachment, InboundMessage, Submission
from storage.reasons import ThreadMatch


@dataclass
class MessageContext:
    settings: Settings
    session: Session
    archive: Archive
    row: InboundMessage
    message: EmailMessage  # the headers only until the structure stage takes the message as ``files`` read it
    files: MessageFiles | None = None  # the message as read (parsed, its files, or its refusal); None: headers only
    attachments: list[Attachment] = field(default_factory=list)
    attachment_parts: list[MimePart] = field(default_factory=list)  # the file of attachments[n] (its bytes and
    # its reading), in order
    form: ParsedForm | None = None
    form_attachment: Attachment | None = None
    problems: list[Problem] = field(default_factory=list)
    application: Application | None = None
    thread: Application | None = None  # the application this message follows up, if any
    thread_found_by: ThreadMatch | None = None
    submission: Submission | None = None
    parse: Parse = parse_form  # the bounded sandbox in the service; plain parse_form in unit tests
    parse_options: ParseOptions = field(default_factory=ParseOptions)
    round: Round | None = None  # the round the message belongs to (its application's, for a follow-up)

    @property
    def late(self) -> bool:
        deadline = self.round.deadline if self.round is not None else self.settings.call.deadline
        return self.row.received_at > deadline
