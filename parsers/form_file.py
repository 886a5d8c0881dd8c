"""From attachment bytes to a parsed form: pick which attachment is the application form and read it."""

from __future__ import annotations

from dataclasses import dataclass

from parsers.docx_reader import read_docx
from parsers.errors import UnreadableFile
from parsers.file_safety import FileKind, inspect_file
from parsers.form_record import FormRecord, read_record

# A document is the form when at least this many of its fields are recognised (by tag or label).
MIN_RECOGNISED = 4


@dataclass(frozen=True)
class FormCandidate:
    index: int
    filename: str
    data: bytes


@dataclass(frozen=True)
class ParsedForm:
    index: int
    filename: str
    kind: FileKind
    record: FormRecord


@dataclass(frozen=True)
class FormChoice:
    """The outcome of looking for the form: the form, or why none could be read."""

    form: ParsedForm | None
    unreadable: tuple[tuple[str, UnreadableFile], ...] = ()


def parse_form(data: bytes, filename: str) -> tuple[FileKind, FormRecord | None]:
    """Read one file. Returns its kind and its record (None for files that are not documents)."""
    inspection = inspect_file(data, filename)
    if inspection.kind == "docx":
        return "docx", read_record(read_docx(data))
    if inspection.kind in ("doc", "pdf"):
        what = "Word 97-2003 (.doc)" if inspection.kind == "doc" else "PDF"
        raise UnreadableFile(
            "unsupported", f"Filen »{filename}« er gemt som {what}. Vi kan kun behandle ansøgningsskemaet som "
                           "Word-dokument (.docx). Gem venligst skemaet som .docx og send det igen.")
    return inspection.kind, None


def choose_form(candidates: list[FormCandidate]) -> FormChoice:
    """The attachment that reads best as the form, or the reasons the documents could not be read."""
    best: ParsedForm | None = None
    unreadable: list[tuple[str, UnreadableFile]] = []
    for candidate in candidates:
        try:
            kind, record = parse_form(candidate.data, candidate.filename)
        except UnreadableFile as error:
            unreadable.append((candidate.filename, error))
            continue
        if record is None or record.recognised < MIN_RECOGNISED:
            continue
        if best is None or record.recognised > best.record.recognised:
            best = ParsedForm(candidate.index, candidate.filename, kind, record)
    return FormChoice(best, tuple(unreadable))
