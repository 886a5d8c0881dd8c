"""Read a :class:`FormDocument` into a :class:`FormRecord`, whatever reader made the document.

Order of trust: a content control (or fillable-PDF field) named by the field's key; then table cells
by label; then "Label: value" paragraphs, where a label may stand alone with its value in the
paragraphs that follow (multi-paragraph free text ends at the next label or section heading).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from parsers.document_model import CHECKED, UNCHECKED, Cell, Control, FormDocument
from parsers.form_fields import FIELDS_BY_KEY, FieldSpec
from parsers.form_record import FormRecord, RecordBuilder, strip_placeholders
from parsers.labels import heading_number, is_section_heading, match_label, split_label_value
from parsers.problem_codes import ProblemCode, ValueCode
from parsers.table_reading import from_tables, partners

_MULTI_PARAGRAPH = {"freetext", "names"}


def read_record(document: FormDocument) -> FormRecord:
    document = _without_placeholders(document)
    builder = RecordBuilder(document.reader)
    _from_controls(document, builder)
    from_tables(document, builder)
    _from_paragraphs(document, builder)
    partners(document, builder)
    return builder.finish()


def _without_placeholders(document: FormDocument) -> FormDocument:
    """The document with Word's placeholder sentences removed from every text, once, before any matching."""
    return FormDocument(
        reader=document.reader,
        controls=[replace(c, text=strip_placeholders(c.text)) for c in document.controls],
        rows=[replace(r, cells=tuple(Cell(strip_placeholders(c.text)) for c in r.cells)) for r in document.rows],
        paragraphs=[strip_placeholders(p) for p in document.paragraphs],
        headings=set(document.headings),
    )


def _from_controls(document: FormDocument, builder: RecordBuilder) -> None:
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
            builder.problem(spec, ProblemCode.UNREADABLE, value_code=ValueCode.BOTH_YES_AND_NO, value=raw)
        elif ticked:
            builder.offer(spec, raw, controls[0].location, value=ticked == {"ja"})


def _from_paragraphs(document: FormDocument, builder: RecordBuilder) -> None:
    current: FieldSpec | None = None
    lines: list[str] = []
    start = 0

    def flush() -> None:
        if current is not None and lines:
            builder.offer(current, "\n".join(lines), f"afsnit {start + 1}")

    for n, paragraph in enumerate(document.paragraphs):
        text = paragraph
        found = split_label_value(text)
        if found is None and (spec := match_label(text)) is not None:
            found = (spec, "")
        if found is not None:
            flush()
            current, lines, start = found[0], [found[1]] if found[1] else [], n
        elif is_section_heading(text) or (n in document.headings and current is not None
                                          and (number := heading_number(text)) is not None
                                          and number > current.section):
            # a section title, or a bold or heading-styled paragraph numbered as a later section, whatever
            # its words ('5. Kommunens erfaring med metoden' in bold ends 4.3's free text)
            flush()
            current, lines = None, []
        elif current is not None and text and (not lines or current.kind in _MULTI_PARAGRAPH):
            lines.append(text)
    flush()
