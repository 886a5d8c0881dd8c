"""An application as staff see it: the current form version's fields with staff corrections on top.

A correction never overwrites what was read: the submission keeps its value and source, the correction
row keeps the original, the new value, who and why. With corrections, the problems are worked out again by
the form contract's own rules, so a corrected field can make an application complete (or not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from notifications.locale import partner_text as partner_line
from notifications.locale import value_text as display_value
from parsers.form_fields import FIELDS, FIELDS_BY_KEY, FieldSpec
from parsers.form_record import FieldValue, FormRecord, Problem, normalise_value
from parsers.municipalities import find_municipality
from parsers.problem_codes import ValueCode
from parsers.validation import validate
from parsers.values import ValueProblem, clean_text, parse_integer
from parsers.yes_no import yes_no_from_text
from storage import Application
from storage.models import FieldCorrection
from web.ranking import Candidate


@dataclass(frozen=True)
class FieldRow:
    spec: FieldSpec
    value: Any
    source: str
    correction: FieldCorrection | None = None

    @property
    def display(self) -> str:
        return display_value(self.value)


@dataclass
class ApplicationRecord:
    application: Application
    fields: dict[str, Any] = field(default_factory=dict)
    rows: list[FieldRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.application.current_submission is not None and not self.problems


def editable_text(spec: FieldSpec, value: Any) -> str:
    """The value as staff would type it back into the correction form."""
    if spec.kind == "partners":
        return "\n".join(partner_line(p) for p in value or [])
    if spec.kind == "names":
        return "\n".join(value or [])
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return display_value(value)


def parse_correction(spec: FieldSpec, text: str) -> Any:
    """Staff's typed value, read by the same rules as the form; raises ValueProblem with a Danish reason.

    An empty text clears the field. Partners are typed one per line: "Kommune; målgruppe; indbyggere[; Ja/Nej]"
    (the optional last column: has that municipality already implemented Open Dialogue).
    """
    text = clean_text(text)
    if not text:
        return None
    if spec.kind != "partners":
        return normalise_value(spec, text)
    partners = []
    for number, line in enumerate(text.splitlines(), start=1):
        cells = [c.strip() for c in re.split(r"[;\t]", line)]
        if len(cells) not in (3, 4):
            raise ValueProblem(ValueCode.LINE_LAYOUT, line, line=number)
        found = find_municipality(cells[0])
        if found is None:
            raise ValueProblem(ValueCode.NOT_A_MUNICIPALITY, cells[0], line=number)
        partner: dict[str, Any] = {"municipality": found.official_name, "municipality_code": found.code,
                                   "target_group_size": parse_integer(cells[1]), "population": parse_integer(cells[2])}
        if len(cells) == 4 and cells[3]:
            answer = yes_no_from_text(cells[3])
            if answer is None:
                raise ValueProblem(ValueCode.LINE_YES_NO, cells[3], line=number)
            partner["already_implemented"] = answer
        partners.append(partner)
    return partners


def _latest_corrections(application: Application) -> dict[str, FieldCorrection]:
    """Per field, the newest correction made to the current version of the form.

    A corrected form sent by the municipality later is what they say now: corrections made to an earlier
    version stay in the history (and the audit log) but no longer apply.
    """
    submission = application.current_submission
    latest: dict[str, FieldCorrection] = {}
    for correction in application.corrections:  # ordered by id: the last one wins
        if submission is None or correction.created_at >= submission.created_at:
            latest[correction.key] = correction
    return latest


def form_value(application: Application, key: str) -> Any:
    """The value the current version of the form gave ``key`` (never a staff correction); None if none."""
    submission = application.current_submission
    found = [v.value for v in submission.values if v.key == key] if submission else []
    return found[0] if found else None


def received_on(application: Application, zone: ZoneInfo) -> date:
    submission = application.current_submission
    moment: datetime = application.received_at
    if submission is not None:
        for message in application.messages:
            if message.id == submission.message_id:
                moment = message.received_at
    return moment.astimezone(zone).date()


_READERS = {"docx": "Word-dokument", "doc (LibreOffice)": "Word 97-2003-dokument", "pdf": "PDF"}
_NAMED_PLACE = re.compile(r"^(indholdskontrol|PDF-formularfelt)(?: \d+)? »([^«]*)«(.*)$")
_PLACE_WORDS = {"indholdskontrol": "indholdskontrol", "PDF-formularfelt": "formularfelt"}


def source_text(source: str) -> str:
    """Where a value was read, as staff read it: "Word-dokument, indholdskontrol »1.1 Ansøgende kommune«" for
    the stored "docx: indholdskontrol 1 »municipality«" (a control's or field's tag is the form's own field
    name: shown by its label on the form)."""
    reader, colon, place = source.partition(": ")
    if not colon:
        return source
    named = _NAMED_PLACE.match(place)
    if place.startswith("indholdskontroller »partners"):
        place = "indholdskontrollerne med samarbejdskommuner"
    elif named:
        kind, tag, rest = named.groups()
        label = FIELDS_BY_KEY[tag].label if tag in FIELDS_BY_KEY else tag
        place = f"{_PLACE_WORDS[kind]} »{label}«{rest}"
    return f"{_READERS.get(reader, reader)}, {place}"


def application_record(application: Application, zone: ZoneInfo,
                       read: dict[str, tuple[Any, str]] | None = None, rows: bool = True) -> ApplicationRecord:
    """``read``: the current version's {key: (value, source)} when the caller loaded them already; without
    ``rows`` only the effective fields and the problems (what lists and the ranking read, not the page)."""
    submission = application.current_submission
    if read is None:
        read = {v.key: (v.value, v.source) for v in submission.values} if submission else {}
    corrections = _latest_corrections(application)
    record = ApplicationRecord(application)
    for spec in FIELDS:
        correction = corrections.get(spec.key)
        if correction is not None:
            value, source = correction.value, f"rettet af {correction.author}"
        elif spec.key in read:
            value, source = read[spec.key]
        else:
            value, source = None, ""
        if value is not None:
            record.fields[spec.key] = value
        if rows:
            record.rows.append(FieldRow(spec, value, source, correction))
    stored = [p.problem() for p in (submission.problems if submission else [])]
    if not corrections:
        record.problems = stored
        return record
    # corrected: the problems found while reading still count for fields nobody corrected and still lack
    # a value; the contract's rules are applied afresh to the corrected values
    form = FormRecord(reader="staff", values={k: FieldValue(k, v, "", "") for k, v in record.fields.items()},
                      problems=[p for p in stored if p.field not in corrections and p.field not in record.fields])
    record.problems = validate(form, received_on(application, zone))
    return record


def candidate(application: Application, record: ApplicationRecord) -> Candidate:
    return Candidate(
        reference=application.reference, municipality=application.municipality,
        received_at=application.received_at, complete=record.complete, fields=record.fields,
        problems=tuple(record.problems), late=application.late, selected=application.selected,
        rejected_reason=application.rejected_reason, rejected_ground=application.rejected_ground,
        late_admitted=application.late_admitted_reason)
