"""The .docx form: generated from the contract, filled as people do, read back field by field."""

from __future__ import annotations

import io
from datetime import date

import docx
import pytest
from form_corpus import EXPECTED, RECEIVED

from ingest.demo import complete_values
from notifications.locale import problem_text
from parsers import parse_form, validate
from parsers.blank_form import blank_form, fill_form
from parsers.docx_reader import read_docx
from parsers.form_fields import FIELDS, FORM_TITLE


def read(data: bytes):
    kind, record = parse_form(data, "skema.docx")
    assert kind == "docx" and record is not None
    return record


def test_blank_form_has_the_title_every_label_and_one_tagged_control_per_field():
    data = blank_form()
    document = docx.Document(io.BytesIO(data))
    text = "\n".join(p.text for p in document.paragraphs) + "\n".join(
        c.text for t in document.tables for r in t.rows for c in r.cells)
    assert FORM_TITLE in text
    tags = {c.tag for c in read_docx(data).controls}
    expected = {f.key for f in FIELDS if f.kind != "partners"} | {
        "partners.municipality", "partners.target_group_size", "partners.population"}
    assert tags == expected
    for spec in FIELDS:
        assert spec.label in text


def test_blank_form_reads_as_empty_because_placeholders_are_never_values():
    record = read(blank_form())
    assert record.values == {}
    assert {p.field for p in validate(record, RECEIVED)} == {f.key for f in FIELDS if f.required}


@pytest.mark.parametrize("mode", ["controls", "typed"])
def test_filled_form_reads_back_every_field(mode):
    record = read(fill_form(complete_values(), mode=mode))
    assert record.as_fields() == EXPECTED
    assert validate(record, RECEIVED) == []


def test_each_value_records_where_it_was_read():
    by_control = read(fill_form(complete_values()))
    typed = read(fill_form(complete_values(), mode="typed"))
    assert by_control.values["population"].source.startswith("docx: indholdskontrol")
    assert typed.values["population"].source.startswith("docx: tabel")
    assert by_control.values["population"].raw == "352.751"


def test_joint_application_partners_are_read_row_by_row_in_both_fill_modes():
    partners = [{"municipality": "Odder", "target_group_size": "200", "population": "23.000"},
                {"municipality": "Skanderborg Kommune", "target_group_size": "ca. 310", "population": "62 000"}]
    for mode in ("controls", "typed"):
        record = read(fill_form(complete_values(joint_application=True, partners=partners), mode=mode))
        assert record.get("partners") == [
            {"municipality": "Odder Kommune", "municipality_code": "727", "target_group_size": 200,
             "population": 23000},
            {"municipality": "Skanderborg Kommune", "municipality_code": "746", "target_group_size": 310,
             "population": 62000},
        ]
        assert validate(record, RECEIVED) == []


def test_joint_application_without_partners_is_a_problem():
    record = read(fill_form(complete_values(joint_application=True)))
    assert [p.field for p in validate(record, RECEIVED)] == ["partners"]


@pytest.mark.parametrize(("overrides", "field", "words"), [
    ({"population": "100", "target_group_size": "200"}, "population", "mindre end"),
    ({"director_approved": False}, "director_approved", "ikke godkendt"),
    ({"approval_date": date(2019, 9, 5)}, "approval_date", "efter den dag"),
    ({"meeting_leaders_count": "8"}, "meeting_leaders_count", "for højt"),
    ({"contact_email": "mette(at)aarhus.dk"}, "contact_email", "e-mailadresse"),
    ({"municipality": "Gotham"}, "municipality", "dansk kommune"),
    ({"cvr": "12345678"}, "cvr", "CVR"),
    ({"target_group_size": "mange"}, "target_group_size", "tal"),
    ({"contact_name": None}, "contact_name", "ikke udfyldt"),
])
def test_each_rule_of_the_contract_names_the_field_and_says_why(overrides, field, words):
    problems = validate(read(fill_form(complete_values(**overrides))), RECEIVED)
    assert [p.field for p in problems] == [field]
    assert words in problem_text(problems[0])
    assert problems[0].label.startswith(next(f.label for f in FIELDS if f.key == field)[:3])


def test_both_yes_and_no_ticked_is_a_problem_not_a_guess():
    from lxml import etree

    data = fill_form(complete_values(director_approved=True))
    document = docx.Document(io.BytesIO(data))
    ns = {"w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
          "w14": "http://schemas.microsoft.com/office/word/2010/wordml"}
    for checked in etree.XPath("//w:sdt[w:sdtPr/w:tag/@w:val='director_approved']//w14:checked",
                               namespaces=ns)(document.element.body):
        checked.set(f"{{{ns['w14']}}}val", "1")
    out = io.BytesIO()
    document.save(out)
    problems = validate(read(out.getvalue()), RECEIVED)
    assert [(p.field, problem_text(p)) for p in problems] == [(
        "director_approved",
        "Både Ja og Nej er markeret. "
        "Vi har brug for at ansøgningen er godkendt af direktøren (Ja), som opslaget kræver.")]


def test_typed_yes_no_answers_in_the_cell_are_read():
    record = read(fill_form(complete_values(already_implemented="Ja, det har vi", startup_meeting="JA"),
                            mode="typed"))
    assert record.get("already_implemented") is True and record.get("startup_meeting") is True
