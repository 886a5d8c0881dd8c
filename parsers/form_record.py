"""Turn a :class:`FormDocument` into a :class:`FormRecord`: field key → normalised value, with its source.

Order of trust: a content control with the field's tag; then the cell right of (or below) a matching
label in a table; then a "Label: value" paragraph. A value that is present but unreadable becomes a
problem naming the field, never a guess.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from parsers.document_model import CHECKED, UNCHECKED, Control, FormDocument
from parsers.form_fields import FIELDS_BY_KEY, PARTNER_COLUMNS, FieldSpec
from parsers.labels import is_partner_header, match_label, split_label_value
from parsers.municipalities import find_municipality
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
    parse_yes_no,
)


@dataclass(frozen=True)
class Problem:
    field: str
    label: str
    message: str


@dataclass(frozen=True)
class FieldValue:
    key: str
    value: Any  # JSON-able: str, int, bool, ISO date string, list
    raw: str
    source: str


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


def _yes_no_from_text(text: str) -> bool | None:
    """'☒ Ja ☐ Nej' → True; typed 'ja' → True; both or neither ticked → ValueProblem / None."""
    if CHECKED in text or UNCHECKED in text:
        ticked = {m.group(1).lower() for m in re.finditer(rf"{CHECKED}\s*(ja|nej)", text, re.I)}
        ticked |= {m.group(1).lower() for m in re.finditer(rf"(ja|nej)\s*{CHECKED}", text, re.I)}
        if ticked == {"ja", "nej"}:
            raise ValueProblem("både Ja og Nej er markeret")
        return None if not ticked else ticked == {"ja"}
    return parse_yes_no(text) if text.strip() else None


def _normalise(spec: FieldSpec, raw: str) -> Any:
    text = clean_text(raw)
    match spec.kind:
        case "integer":
            return parse_integer(text)
        case "date":
            return parse_date(text).isoformat()
        case "yesno":
            return _yes_no_from_text(text)
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
                raise ValueProblem(f"»{text}« er ikke navnet på en dansk kommune")
            return found.official_name
        case _:
            return text


class _Builder:
    def __init__(self, reader: str) -> None:
        self.record = FormRecord(reader=reader)
        self.unreadable: dict[str, Problem] = {}

    def offer(self, spec: FieldSpec, raw: str, source: str, value: Any = None) -> None:
        if spec.key in self.record.values or spec.kind == "partners":
            return
        try:
            value = _normalise(spec, raw) if value is None else value
        except ValueProblem as problem:
            self.unreadable.setdefault(spec.key, Problem(spec.key, spec.label, str(problem)))
            return
        if value in (None, "", []):
            return
        self.unreadable.pop(spec.key, None)
        self.record.values[spec.key] = FieldValue(spec.key, value, clean_text(raw), source)

    def finish(self) -> FormRecord:
        self.record.problems.extend(self.unreadable.values())
        return self.record


def read_record(document: FormDocument) -> FormRecord:
    builder = _Builder(document.reader)
    _from_controls(document, builder)
    _from_tables(document, builder)
    _from_paragraphs(document, builder)
    _partners(document, builder)
    return builder.finish()


def _from_controls(document: FormDocument, builder: _Builder) -> None:
    boxes: dict[str, list[Control]] = defaultdict(list)
    for control in document.controls:
        spec = FIELDS_BY_KEY.get(control.tag)
        if spec is None or control.placeholder:
            continue
        if control.kind == "checkbox":
            boxes[control.tag].append(control)
        elif control.kind == "date" and control.full_date:
            builder.offer(spec, control.text, control.location, value=control.full_date[:10])
        elif control.text:
            builder.offer(spec, control.text, control.location)
    for tag, controls in boxes.items():
        spec = FIELDS_BY_KEY[tag]
        ticked = {("nej" if c.alias.lower().rstrip().endswith("nej") or (not c.alias and i == 1) else "ja")
                  for i, c in enumerate(controls) if c.checked}
        raw = " ".join(f"{CHECKED if c.checked else UNCHECKED} {c.alias.rsplit(' ', 1)[-1]}" for c in controls)
        if ticked == {"ja", "nej"}:
            builder.unreadable[tag] = Problem(tag, spec.label, "både Ja og Nej er markeret")
        elif ticked:
            builder.offer(spec, raw, controls[0].location, value=ticked == {"ja"})


def _from_tables(document: FormDocument, builder: _Builder) -> None:
    for row in document.rows:
        texts = [c.text for c in row.cells]
        for i, text in enumerate(texts):
            first_line, _, below = text.partition("\n")
            spec = match_label(text) or match_label(first_line)
            if spec is None:
                found = split_label_value(text)
                if found:
                    builder.offer(found[0], found[1], f"{row.location}, celle {i + 1}")
                continue
            if match_label(text) is None and below.strip():  # the value typed below the label, same cell
                builder.offer(spec, below, f"{row.location}, celle {i + 1}")
            for j in range(i + 1, len(texts)):
                if texts[j].strip() and match_label(texts[j]) is None:
                    builder.offer(spec, texts[j], f"{row.location}, celle {j + 1}")
                    break
            break


def _from_paragraphs(document: FormDocument, builder: _Builder) -> None:
    for n, paragraph in enumerate(document.paragraphs):
        found = split_label_value(paragraph)
        if found:
            builder.offer(found[0], found[1], f"afsnit {n + 1}")


def _partners(document: FormDocument, builder: _Builder) -> None:
    spec = FIELDS_BY_KEY["partners"]
    rows: dict[int | None, dict[str, str]] = defaultdict(dict)
    for control in document.controls:
        if control.tag.startswith("partners.") and control.text and not control.placeholder:
            rows[control.row][control.tag.split(".", 1)[1]] = control.text
    source = "indholdskontroller »partners.*«"
    if not rows:
        source = "tabellen med samarbejdskommuner"
        in_table: int | None = None
        for index, row in enumerate(document.rows):
            texts = [c.text for c in row.cells]
            if is_partner_header(texts):
                in_table = row.table
                continue
            if in_table is not None and row.table == in_table and any(t.strip() for t in texts):
                rows[index] = dict(zip((k for k, _ in PARTNER_COLUMNS), texts, strict=False))
    partners: list[dict[str, Any]] = []
    problems: list[str] = []
    for n, cells in enumerate(rows.values(), start=1):
        partner, trouble = _partner(cells)
        partners.append(partner)
        problems.extend(f"række {n}: {t}" for t in trouble)
    if problems:
        builder.unreadable["partners"] = Problem("partners", spec.label, "; ".join(problems))
    if partners:
        raw = "; ".join(" | ".join(c.values()) for c in rows.values())
        builder.record.values["partners"] = FieldValue("partners", partners, raw, source)


def _partner(cells: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    trouble: list[str] = []
    name = clean_text(cells.get("municipality", ""))
    found = find_municipality(name) if name else None
    partner: dict[str, Any] = {
        "municipality": found.official_name if found else name or None,
        "municipality_code": found.code if found else None,
    }
    if not name:
        trouble.append("kommunens navn mangler")
    elif found is None:
        trouble.append(f"»{name}« er ikke navnet på en dansk kommune")
    for key, title in PARTNER_COLUMNS[1:]:
        raw = cells.get(key, "").strip()
        try:
            partner[key] = parse_integer(raw) if raw else None
        except ValueProblem as problem:
            partner[key] = None
            trouble.append(str(problem))
        if not raw:
            trouble.append(f"{title.lower()} mangler")
    return partner, trouble


