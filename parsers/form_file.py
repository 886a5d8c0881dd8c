"""From attachment bytes to a parsed form: pick which attachment is the application form and read it.

Every format goes through its reader into one :class:`~parsers.document_model.FormDocument` and then the
same label matching: .docx directly, .doc after LibreOffice converts it, PDF with pdfplumber.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from parsers.doc_converter import convert_doc
from parsers.docx_reader import read_docx
from parsers.errors import UnreadableFile
from parsers.file_safety import FileKind, inspect_file
from parsers.form_record import FormRecord
from parsers.pdf_reader import MAX_PAGES, read_pdf
from parsers.record_reading import read_record

# A document is the form when at least this many of its fields are recognised (by tag or label).
MIN_RECOGNISED = 4


@dataclass(frozen=True)
class ParseOptions:
    libreoffice: str | None = "soffice"  # command or path; None: .doc files are answered with a request for .docx
    convert_timeout: float = 60.0
    max_pdf_pages: int = MAX_PAGES


@dataclass(frozen=True)
class FormCandidate:
    index: int
    filename: str
    data: bytes
    read: Callable[[], tuple[FileKind, FormRecord | None]] | None = None  # its reading, when it was read ahead


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


Parse = Callable[[bytes, str, ParseOptions], tuple[FileKind, FormRecord | None]]


def parse_form(data: bytes, filename: str, options: ParseOptions | None = None) -> tuple[FileKind, FormRecord | None]:
    """Read one file. Returns its kind and its record (None for files that are not documents)."""
    options = options or ParseOptions()
    kind = inspect_file(data, filename).kind
    try:
        if kind == "docx":
            return kind, read_record(read_docx(data))
        if kind == "doc":
            converted = convert_doc(data, options.libreoffice, options.convert_timeout)
            inspect_file(converted, filename)
            document = read_docx(converted)
            document.reader = "doc (LibreOffice)"
            return kind, read_record(document)
        if kind == "pdf":
            return kind, read_record(read_pdf(data, options.max_pdf_pages))
    except UnreadableFile as error:
        raise error.naming(filename) from error
    return kind, None


def parse_converted_doc(converted: bytes, filename: str, options: ParseOptions | None = None
                        ) -> tuple[FileKind, FormRecord | None]:
    """Read the .docx LibreOffice made of the .doc ``filename`` (converted outside, by a warm converter)."""
    try:
        inspect_file(converted, filename)
        document = read_docx(converted)
        document.reader = "doc (LibreOffice)"
        return "doc", read_record(document)
    except UnreadableFile as error:
        raise error.naming(filename) from error


def choose_form(candidates: list[FormCandidate], options: ParseOptions | None = None,
                parse: Parse | None = None) -> FormChoice:
    """The attachment that reads best as the form, or the reasons the documents could not be read."""
    parse = parse or parse_form
    options = options or ParseOptions()
    best: ParsedForm | None = None
    unreadable: list[tuple[str, UnreadableFile]] = []
    for candidate in candidates:
        try:
            kind, record = (candidate.read() if candidate.read is not None
                            else parse(candidate.data, candidate.filename, options))
        except UnreadableFile as error:
            # the refusal as data: a fresh exception, never raised, holds no traceback (a raised one keeps
            # every frame of the pipeline, and the message's bytes in them, alive until a full collection)
            unreadable.append((candidate.filename, error.naming(candidate.filename)))
            continue
        if record is None or record.recognised < MIN_RECOGNISED:
            continue
        if best is None or record.recognised > best.record.recognised:
            best = ParsedForm(candidate.index, candidate.filename, kind, record)
    return FormChoice(best, tuple(unreadable))
