"""The parsed form: field key → normalised value, each with the raw text and where it was read.

:class:`RecordBuilder` is where every reader's findings meet: the first readable value of a field wins
(readers offer in order of trust), a value that is present but unreadable becomes a problem naming the
field (never a guess), and placeholder text is never a value.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from parsers.form_fields import FIELDS_BY_KEY, PLACEHOLDERS, FieldSpec
from parsers.municipalities import find_municipality
from parsers.problem_codes import ProblemCode, ValueCode
from parsers.values import (
    ValueProblem,
    clean_text,
    parse_cvr,
    parse_date,
    parse_email,
    parse_integer,
    parse_names,
    parse_phone,
    parse_postal,
)
from parsers.yes_no import yes_no_from_text


@dataclass(frozen=True)
class Problem:
    """What is wrong with one field: a code and its parameters (JSON-able); worded by ``notifications.locale``."""

    field: str
    code: ProblemCode
    params: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def label(self) -> str:
        spec = FIELDS_BY_KEY.get(self.field)
        return spec.label if spec else self.field


@dataclass(frozen=True)
class FieldValue:
    key: str
    value: Any  # JSON-able: str, int, bool, ISO date string, list
    raw: str
    source: str  # reader and location, e.g. "docx: tabel 1, række 2, celle 2"


@dataclass
class FormRecord:
    reader: str
    values: dict[str, FieldValue] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def get(self, key: str) -> Any:
        item = self.values.get(key)
        return None if item is None else item.value

    def as_fields(self) -> dict[str, Any]:
        return {key: item.value for key, item in self.values.items()}

    @property
    def recognised(self) -> int:
        """How many fields were found (present or unreadable): how much this looks like the form."""
        return len(self.values) + len({p.field for p in self.problems} - set(self.values))


def strip_placeholders(text: str) -> str:
    """Text without Word's placeholder sentences, which survive as plain text after LibreOffice or PDF."""
    cleaned = clean_text(text)
    flat = " ".join(cleaned.split())
    for placeholder in PLACEHOLDERS:
        if placeholder in flat:
            flat = flat.replace(placeholder, "")
            cleaned = flat
    return cleaned.strip()


def normalise_value(spec: FieldSpec, raw: str) -> Any:
    text = clean_text(raw)
    match spec.kind:
        case "integer":
            return parse_integer(text)
        case "date":
            return parse_date(text).isoformat()
        case "yesno":
            return yes_no_from_text(text)
        case "email":
            return parse_email(text)
        case "phone":
            return parse_phone(text)
        case "cvr":
            return parse_cvr(text)
        case "postal":
            return parse_postal(text)
        case "names":
            return parse_names(text)
        case "municipality":
            found = find_municipality(text)
            if found is None:
                raise ValueProblem(ValueCode.NOT_A_MUNICIPALITY, text)
            return found.official_name
        case "freetext":
            return text
        case _:
            return " ".join(text.split())


class RecordBuilder:
    def __init__(self, reader: str) -> None:
        self.reader = reader
        self.record = FormRecord(reader=reader)
        self.unreadable: dict[str, Problem] = {}

    def source(self, location: str) -> str:
        return f"{self.reader}: {location}"

    def offer(self, spec: FieldSpec, raw: str, location: str, value: Any = None) -> None:
        """A reader found ``raw`` for ``spec`` at ``location``; keep it if it is the first readable value."""
        if spec.key in self.record.values or spec.kind == "partners":
            return
        raw = clean_text(raw)  # placeholders were removed from the document before any reader offered
        try:
            value = normalise_value(spec, raw) if value is None else value
        except ValueProblem as problem:
            self.unreadable.setdefault(spec.key, Problem(spec.key, ProblemCode.UNREADABLE, problem.as_dict()))
            return
        if value in (None, "", []):
            return
        self.unreadable.pop(spec.key, None)
        self.record.values[spec.key] = FieldValue(spec.key, value, raw, self.source(location))

    def problem(self, spec: FieldSpec, code: ProblemCode, **params: Any) -> None:
        self.unreadable[spec.key] = Problem(spec.key, code, params)

    def set(self, key: str, value: Any, raw: str, location: str) -> None:
        self.record.values[key] = FieldValue(key, value, raw, self.source(location))

    def finish(self) -> FormRecord:
        self.record.problems.extend(p for key, p in self.unreadable.items() if key not in self.record.values)
        return self.record
