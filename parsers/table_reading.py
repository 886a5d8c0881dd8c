"""Values from table rows: right of the label, below it in the same cell, or in the next row; Ja/Nej columns.

Layouts seen in practice: label | value; number | label | value; "Label: value" in one cell; the value
typed under the label; a label row followed by a value row; yes/no questions answered by a mark in
separate "Ja" / "Nej" columns; header rows repeated on every page. The partner table (3.2) is read row by
row into a list.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from parsers.document_model import CHECKED, UNCHECKED, FormDocument, Row
from parsers.form_fields import FIELDS_BY_KEY, PARTNER_COLUMNS, FieldSpec
from parsers.form_record import RecordBuilder
from parsers.labels import exact_label, is_partner_header, match_label, normalise_label, split_label_value
from parsers.municipalities import find_municipality
from parsers.problem_codes import ProblemCode, ValueCode
from parsers.values import ValueProblem, clean_text, parse_integer
from parsers.yes_no import is_checked_mark


def _label_and_below(text: str, fuzzy: bool = True) -> tuple[FieldSpec, str] | None:
    """The label a cell starts with and the value typed below it, up to the next label in the same cell.

    The longest run of leading lines that is exactly a label wins; only then is a close match tried, so a
    label and its value together are never taken for an edited label.
    """
    lines = text.split("\n")
    found: tuple[FieldSpec, int] | None = None
    for matcher in (exact_label, match_label) if fuzzy else (exact_label,):
        found = next(((spec, n) for n in range(len(lines), 0, -1)
                      if (spec := matcher(" ".join(lines[:n]))) is not None), None)
        if found is not None:
            break
    if found is None:
        return None
    spec, n = found
    below = []
    for line in lines[n:]:
        if exact_label(line) is not None or split_label_value(line) is not None:
            break
        below.append(line)
    return spec, "\n".join(below)


def _yes_no_columns(texts: list[str]) -> tuple[int, int] | None:
    keys = [normalise_label(t) for t in texts]
    if "ja" in keys and "nej" in keys:
        return keys.index("ja"), keys.index("nej")
    return None


def partner_rows(document: FormDocument) -> list[int]:
    """Indexes of the rows under a partner-table header, up to the end of that table or the next label."""
    found: list[int] = []
    table: int | None = None
    for index, row in enumerate(document.rows):
        texts = [c.text for c in row.cells]
        if is_partner_header(texts):
            table = row.table
            continue
        if table is None or row.table != table or any(match_label(t) for t in texts if t):
            table = None
            continue
        found.append(index)
    return found


def from_tables(document: FormDocument, builder: RecordBuilder) -> None:
    skip = set(partner_rows(document))
    columns: dict[int, tuple[int, int]] = {}
    rows = document.rows
    for index, row in enumerate(rows):
        texts = [c.text for c in row.cells]
        if index in skip or is_partner_header(texts):
            continue
        if (yes_no := _yes_no_columns(texts)) is not None:
            columns[row.table] = yes_no
            continue
        following = rows[index + 1] if index + 1 < len(rows) and index + 1 not in skip else None
        _read_row(row, texts, following, columns.get(row.table), builder)


def _read_row(row: Row, texts: list[str], following: Row | None, yes_no: tuple[int, int] | None,
              builder: RecordBuilder) -> None:
    for i, text in enumerate(texts):
        if not text:
            continue
        found = _label_and_below(text, fuzzy=False)
        if found is None and (pair := split_label_value(text)) is not None:
            builder.offer(pair[0], pair[1], f"{row.location}, celle {i + 1}")
            continue
        found = found or _label_and_below(text)
        if found is None:
            continue
        spec, below = found
        if spec.kind == "yesno" and yes_no is not None and max(yes_no) < len(texts):
            marks = [is_checked_mark(texts[c]) for c in yes_no]
            if any(m is not None for m in marks):
                pairs = zip(marks, ("Ja", "Nej"), strict=True)
                shown = " ".join(f"{CHECKED if m else UNCHECKED} {w}" for m, w in pairs)
                builder.offer(spec, shown, f"{row.location}, kolonnerne Ja/Nej")
                return
        if below.strip():
            builder.offer(spec, below, f"{row.location}, celle {i + 1}")
        right = next(((j, t) for j, t in enumerate(texts) if j > i and t and match_label(t) is None), None)
        if right is not None:
            builder.offer(spec, right[1], f"{row.location}, celle {right[0] + 1}")
        elif not below.strip() and following is not None and following.table == row.table:
            _from_next_row(spec, following, i, builder)
        return


def _from_next_row(spec: FieldSpec, row: Row, column: int, builder: RecordBuilder) -> None:
    texts = [c.text for c in row.cells]
    if any(_label_and_below(t) or split_label_value(t) for t in texts if t):
        return
    if column < len(texts) and texts[column]:
        builder.offer(spec, texts[column], f"{row.location}, celle {column + 1}")
    elif (filled := [t for t in texts if t]) and len(filled) == 1:
        builder.offer(spec, filled[0], row.location)


def partners(document: FormDocument, builder: RecordBuilder) -> None:
    spec = FIELDS_BY_KEY["partners"]
    rows: dict[int | None, dict[str, str]] = defaultdict(dict)
    for control in document.controls:
        if control.tag.startswith("partners.") and control.text and not control.placeholder:
            rows[control.row][control.tag.split(".", 1)[1]] = control.text
    location = "indholdskontrollerne med samarbejdskommuner"
    if not rows:
        location = "tabellen med samarbejdskommuner"
        for index in partner_rows(document):
            texts = [c.text for c in document.rows[index].cells]
            if any(texts):
                rows[index] = dict(zip((k for k, _ in PARTNER_COLUMNS), texts, strict=False))
    found: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    for n, cells in enumerate(rows.values(), start=1):
        partner, trouble = _partner(cells)
        found.append(partner)
        if trouble:
            problems.append({"row": n, "troubles": trouble})
    if problems:
        builder.problem(spec, ProblemCode.PARTNER_ROWS, rows=problems)
    if found:
        builder.set("partners", found, "; ".join(" | ".join(c.values()) for c in rows.values()), location)


def _partner(cells: dict[str, str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    trouble: list[dict[str, Any]] = []
    name = " ".join(clean_text(cells.get("municipality", "")).split())
    known = find_municipality(name) if name else None
    partner: dict[str, Any] = {
        "municipality": known.official_name if known else name or None,
        "municipality_code": known.code if known else None,
    }
    if not name:
        trouble.append({"value_code": ValueCode.MUNICIPALITY_MISSING, "value": ""})
    elif known is None:
        trouble.append({"value_code": ValueCode.NOT_A_MUNICIPALITY, "value": name})
    for key, _title in PARTNER_COLUMNS[1:]:
        raw = cells.get(key, "").strip()
        try:
            partner[key] = parse_integer(raw) if raw else None
        except ValueProblem as problem:
            partner[key] = None
            trouble.append(problem.as_dict())
        if not raw:
            trouble.append({"value_code": ValueCode.COLUMN_MISSING, "value": "", "column": key})
    return partner, trouble
