"""Every variant of the form that arrives in practice reads to its expected record, field by field; every
hostile file is refused with its reason; parsing is bounded in time and memory."""

from __future__ import annotations

import os
import time

import pytest
from form_corpus import FIXTURES, HOSTILE, RECEIVED, Fixture, HostileFile, convert, legacy_form, libreoffice, tnef
from servers import REQUIRE_SERVERS

from ingest.demo import complete_values
from ingest.form_sandbox import FormSandbox, ParserCrash
from ingest.mime import attachments, parse_message
from notifications.locale import refusal_text
from parsers import UnreadableFile, parse_form, validate
from parsers.form_file import ParseOptions


def require_libreoffice() -> None:
    if libreoffice() is None:
        message = "LibreOffice (soffice) is not installed"
        if REQUIRE_SERVERS:
            pytest.fail(f"{message} (UIP_INTAKE_REQUIRE_SERVERS=1: CI must install libreoffice-writer-nogui)")
        pytest.skip(message)


def build(fixture: Fixture) -> bytes:
    if fixture.libreoffice:
        require_libreoffice()
    return fixture.build()


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.name for f in FIXTURES])
def test_each_variant_reads_to_its_expected_record_field_by_field(fixture: Fixture):
    kind, record = parse_form(build(fixture), fixture.filename)
    assert record is not None, f"{fixture.name}: not read as a document"
    assert kind == fixture.filename.rsplit(".", 1)[1]
    got = record.as_fields()
    keys = sorted(set(got) | set(fixture.expected))
    assert {k: got.get(k) for k in keys} == {k: fixture.expected.get(k) for k in keys}
    assert {p.field for p in validate(record, RECEIVED)} == fixture.problems
    for key, item in record.values.items():
        assert item.source.startswith(f"{record.reader}: "), (key, item.source)


def test_values_record_the_reader_and_location_they_came_from():
    by_name = {f.name: f for f in FIXTURES}
    acro = parse_form(build(by_name["fillable PDF (AcroForm)"]), "skema.pdf")[1]
    assert acro.values["population"].source == "pdf: PDF-formularfelt »population«"
    legacy = parse_form(build(by_name["legacy form fields"]), "skema.docx")[1]
    assert legacy.values["director_approved"].raw == "☒ Ja ☐ Nej"
    assert legacy.values["director_approved"].source == "docx: tabel 9, række 1, celle 2"
    columns = parse_form(build(by_name["numbers in their own column, edited labels, Ja/Nej columns, repeated "
                                       "headers"]), "skema.docx")[1]
    assert columns.values["startup_meeting"].source.endswith("kolonnerne Ja/Nej")


@pytest.mark.libreoffice  # the document is made (or read) by LibreOffice
def test_drawn_checkbox_crosses_in_a_pdf_export_are_read_as_ticks():
    by_name = {f.name: f for f in FIXTURES}
    record = parse_form(build(by_name["PDF export of legacy checkboxes (drawn crosses)"]), "skema.pdf")[1]
    assert record.values["joint_application"].raw == "☐ Ja ☒ Nej"
    assert record.values["director_approved"].raw == "☒ Ja ☐ Nej"


@pytest.mark.libreoffice  # the document is made (or read) by LibreOffice
def test_placeholder_text_is_never_a_value_even_as_plain_text_after_conversion():
    require_libreoffice()
    blank_doc = convert(legacy_form({}), ".docx", "doc")
    record = parse_form(blank_doc, "skema.doc")[1]
    assert record is not None and record.values == {}


@pytest.mark.libreoffice  # the document is made (or read) by LibreOffice
def test_without_libreoffice_a_doc_form_is_answered_with_a_request_for_docx():
    fixture = next(f for f in FIXTURES if f.filename == "skema.doc")
    with pytest.raises(UnreadableFile) as error:
        parse_form(build(fixture), "Ansøgning.doc", ParseOptions(libreoffice="/nonexistent/soffice"))
    assert error.value.code == "unsupported"
    assert "»Ansøgning.doc«" in refusal_text(error.value) and ".docx" in refusal_text(error.value)


@pytest.mark.parametrize("hostile", HOSTILE, ids=[h.name for h in HOSTILE])
def test_each_hostile_file_is_refused_with_a_danish_reason_naming_it(hostile: HostileFile):
    with pytest.raises(UnreadableFile) as error:
        parse_form(hostile.build(), hostile.filename)
    assert error.value.code == hostile.code
    assert hostile.words in refusal_text(error.value) and f"»{hostile.filename}«" in refusal_text(error.value)


def test_winmail_dat_attachments_are_unpacked_and_the_form_inside_is_found():
    from email.message import EmailMessage

    from parsers.blank_form import fill_form

    form = fill_form(complete_values())
    message = EmailMessage()
    message["From"] = "a@aarhus.dk"
    message.set_content("se vedhæftede")
    message.add_attachment(tnef({"Ansoegning.docx": form, "Budget.pdf": b"%PDF-1.4 budget"}),
                           maintype="application", subtype="ms-tnef", filename="winmail.dat")
    parts = attachments(parse_message(message.as_bytes()))
    assert [(p.filename, p.data == form) for p in parts] == [("Ansoegning.docx", True), ("Budget.pdf", False)]


def test_a_damaged_winmail_dat_is_kept_as_it_is():
    from email.message import EmailMessage

    message = EmailMessage()
    message.set_content("x")
    message.add_attachment(b"\x78\x9f\x3e\x22garbage", maintype="application", subtype="ms-tnef",
                           filename="winmail.dat")
    assert [p.filename for p in attachments(parse_message(message.as_bytes()))] == ["winmail.dat"]


# --- the sandbox: bounded time and memory, in a separate process -----------------------------------------

def sleep_forever(data: bytes, filename: str, options: ParseOptions) -> tuple[str, None]:
    time.sleep(600)
    return "other", None


def eat_memory(data: bytes, filename: str, options: ParseOptions) -> tuple[str, None]:
    hog = [bytearray(64 * 1024 * 1024) for _ in range(64)]  # 4 GiB
    raise AssertionError(f"allocated {len(hog)} blocks past the limit")


def die(data: bytes, filename: str, options: ParseOptions) -> tuple[str, None]:
    os._exit(9)


def buggy(data: bytes, filename: str, options: ParseOptions) -> tuple[str, None]:
    raise KeyError("a bug in the parser")


def test_the_sandbox_reads_a_form_like_the_parser_itself():
    data = FIXTURES[0].build()
    kind, record = FormSandbox(timeout=60)(data, "skema.docx", ParseOptions())
    assert kind == "docx" and record is not None and record.as_fields() == parse_form(data, "x.docx")[1].as_fields()


def test_the_sandbox_stops_a_parse_that_overruns_its_time():
    started = time.monotonic()
    with pytest.raises(UnreadableFile) as error:
        FormSandbox(timeout=1, parse_function=sleep_forever)(b"x", "skema.docx", ParseOptions())
    assert error.value.code == "timeout" and "»skema.docx«" in refusal_text(error.value)
    assert time.monotonic() - started < 30


def test_the_sandbox_bounds_memory_and_answers_instead_of_dying():
    with pytest.raises(UnreadableFile) as error:
        FormSandbox(timeout=60, memory_mb=512, parse_function=eat_memory)(b"x", "skema.docx", ParseOptions())
    assert error.value.code == "too_large" and "hukommelse" in refusal_text(error.value)


def test_a_parser_process_that_dies_is_an_unreadable_file_not_a_dead_worker():
    with pytest.raises(UnreadableFile) as error:
        FormSandbox(timeout=60, parse_function=die)(b"x", "skema.docx", ParseOptions())
    assert error.value.code == "too_large"


def test_a_bug_in_the_parser_is_reported_as_a_crash_for_the_error_state():
    with pytest.raises(ParserCrash, match="KeyError"):
        FormSandbox(timeout=60, parse_function=buggy)(b"x", "skema.docx", ParseOptions())


@pytest.mark.libreoffice  # the document is made (or read) by LibreOffice
def test_a_doc_form_converts_inside_the_memory_bounded_sandbox():
    fixture = next(f for f in FIXTURES if f.filename == "skema.doc")
    data = build(fixture)
    kind, record = FormSandbox(timeout=90, memory_mb=1024)(data, "skema.doc", ParseOptions())
    assert kind == "doc" and record is not None and record.get("municipality") == "Aarhus Kommune"
    assert record.reader == "doc (LibreOffice)"
