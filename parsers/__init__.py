"""Form and annex parsing: bytes in, record out. Imports nothing from ingest, storage or notifications."""

from parsers.errors import UnreadableFile
from parsers.form_file import FormCandidate, ParsedForm, choose_form, parse_form
from parsers.form_record import FieldValue, FormRecord, Problem
from parsers.validation import validate

__all__ = [
    "FieldValue",
    "FormCandidate",
    "FormRecord",
    "ParsedForm",
    "Problem",
    "UnreadableFile",
    "choose_form",
    "parse_form",
    "validate",
]
