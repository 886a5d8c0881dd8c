"""Files that must not be opened get a clear reason; none of them is inflated or parsed."""

from __future__ import annotations

import io
import zipfile

import pytest
from form_corpus import hostile_zip

from notifications.locale import refusal_text
from parsers import UnreadableFile
from parsers.blank_form import blank_form
from parsers.file_safety import OLE_MAGIC, inspect_file
from parsers.form_file import FormCandidate, choose_form


def test_an_ordinary_docx_is_a_docx():
    assert inspect_file(blank_form(), "skema.docx").kind == "docx"


def test_macro_enabled_docm_is_refused():
    data = hostile_zip(base=blank_form(), add={"word/vbaProject.bin": b"\x00" * 64})
    with pytest.raises(UnreadableFile) as error:
        inspect_file(data, "skema.docm")
    assert error.value.code == "macro" and "makro" in refusal_text(error.value)


def test_password_protected_office_file_is_refused_as_encrypted():
    data = OLE_MAGIC + b"\x00" * 512 + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 512
    with pytest.raises(UnreadableFile) as error:
        inspect_file(data, "skema.docx")
    assert error.value.code == "encrypted" and "adgangskode" in refusal_text(error.value)


def test_zip_bomb_is_refused_from_its_directory_without_inflating():
    data = hostile_zip(base=blank_form(), add={"word/media/bomb.xml": b"\x00" * (40 * 1024 * 1024)})
    assert len(data) < 1_000_000
    with pytest.raises(UnreadableFile) as error:
        inspect_file(data, "skema.docx")
    assert error.value.code in {"unsafe", "too_large"}


def test_doctype_declarations_in_ooxml_parts_are_refused():
    source = zipfile.ZipFile(io.BytesIO(blank_form()))
    document = source.read("word/document.xml")
    evil = document.replace(b"?>", b'?><!DOCTYPE w:document [<!ENTITY x "boom">]>', 1)
    with pytest.raises(UnreadableFile) as error:
        inspect_file(hostile_zip(base=blank_form(), replace={"word/document.xml": evil}), "skema.docx")
    assert error.value.code == "unsafe"


@pytest.mark.parametrize("data", [b"PK\x03\x04 this is not really a zip", b"hello, I am text"])
def test_a_file_whose_bytes_are_not_what_its_name_says_is_refused(data):
    with pytest.raises(UnreadableFile) as error:
        inspect_file(data, "skema.docx")
    assert error.value.code == "corrupt"


@pytest.mark.libreoffice  # the document is made (or read) by LibreOffice
def test_damaged_pdf_and_doc_files_are_answered_as_damaged_naming_the_file():
    for data, name in ((b"%PDF-1.4\n...", "skema.pdf"), (OLE_MAGIC + b"\x00" * 1024, "skema.doc")):
        choice = choose_form([FormCandidate(1, name, data)])
        assert choice.form is None
        error = choice.unreadable[0][1]
        assert error.code == "corrupt" and f"»{name}«" in refusal_text(error) and ".docx" in refusal_text(error)


def test_the_form_is_chosen_among_annexes_and_other_documents():
    from parsers.blank_form import fill_form

    letter = hostile_zip(base=blank_form())  # a docx, but let us make one that is not the form
    import docx

    other = docx.Document()
    other.add_paragraph("Følgebrev til ansøgningen")
    buffer = io.BytesIO()
    other.save(buffer)
    form = fill_form({"municipality": "Aarhus", "contact_name": "A", "contact_email": "a@b.dk",
                      "population": "10", "target_group_size": "2"})
    choice = choose_form([FormCandidate(1, "brev.docx", buffer.getvalue()), FormCandidate(2, "bilag.pdf", b"%PDF-1.4"),
                          FormCandidate(3, "skema.docx", form), FormCandidate(4, "tom.docx", letter)])
    assert choice.form is not None and choice.form.filename == "skema.docx"
