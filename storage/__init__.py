"""Models, the database, the raw-file archive and read queries. Knows no mailbox and parses nothing."""

from storage.archive import Archive, ArchiveUnavailable
from storage.database import Database
from storage.models import (
    Application,
    Attachment,
    Base,
    Decision,
    DecisionLetter,
    FieldValueRow,
    InboundMessage,
    ProblemRow,
    Reply,
    Submission,
)

__all__ = [
    "Application",
    "Archive",
    "ArchiveUnavailable",
    "Attachment",
    "Base",
    "Database",
    "Decision",
    "DecisionLetter",
    "FieldValueRow",
    "InboundMessage",
    "ProblemRow",
    "Reply",
    "Submission",
]
