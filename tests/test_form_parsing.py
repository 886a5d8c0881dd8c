"""The .docx form: generated from the contract, filled as people do, read back field by field."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import docx
import pytest
from form_corpus import EXPECTED, FIXTURES, RECEIVED, hostile_zip
from lxml import etree

from ingest.demo import complete_values
from notifications.locale import problem_text
from parsers import parse_form, validate
from parsers.blank_form import blank_form, fill_form
from parsers.docx_reader import open_body, read_docx
from parsers.errors import UnreadableFile
from parsers.form_fields import FIELDS, FORM_TITLE
from parsers.problem_codes import RefusalCause, UnreadableCode


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


@pytest.mark.parametrize("fixture", [f for f in FIXTURES if f.filename.endswith(".docx") and not f.libreoffice],
                         ids=lambda f: f.name)
def test_the_body_is_the_one_python_docx_opens_element_for_element(fixture):
    data = fixture.build()
    ours, theirs = open_body(data), docx.Document(io.BytesIO(data)).element.body
    assert type(ours) is type(theirs)
    assert etree.tostring(ours) == etree.tostring(theirs)


def test_a_damaged_part_the_reader_never_looks_at_does_not_make_the_form_unreadable():
    # python-docx's Document() parses every part; the form lives in word/document.xml alone
    data = hostile_zip(replace={"word/styles.xml": b"<w:styles not well formed"})
    with pytest.raises(etree.XMLSyntaxError):
        docx.Document(io.BytesIO(data))
    assert read(data).as_fields() == EXPECTED


@pytest.mark.parametrize("content_type", [
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"])
def test_a_main_part_that_is_not_a_word_document_is_refused_as_damaged_as_python_docx_refuses_it(content_type):
    main = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    source = hostile_zip()
    types = zipfile.ZipFile(io.BytesIO(source)).read("[Content_Types].xml").replace(main.encode(),
                                                                                   content_type.encode())
    data = hostile_zip(replace={"[Content_Types].xml": types})
    with pytest.raises(ValueError, match="not a Word file"):
        docx.Document(io.BytesIO(data))
    with pytest.raises(UnreadableFile) as refused:
        read_docx(data)
    assert (refused.value.code, refused.value.cause) == (UnreadableCode.CORRUPT, RefusalCause.WORD_DAMAGED)


def test_a_package_without_a_main_document_is_refused_as_damaged():
    rels = zipfile.ZipFile(io.BytesIO(hostile_zip())).read("_rels/.rels").replace(b"/officeDocument\"", b"/other\"")
    with pytest.raises(UnreadableFile) as refused:
        read_docx(hostile_zip(replace={"_rels/.rels": rels}))
    assert refused.value.code == UnreadableCode.CORRUPT
