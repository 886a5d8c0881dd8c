"""Values read as municipalities type them: identifiers with a country prefix, a label or separators when the
digits are unambiguous, and free text that ends at the next section's heading however it is worded."""

from __future__ import annotations

import pytest

from parsers.document_model import FormDocument
from parsers.problem_codes import ValueCode
from parsers.record_reading import read_record
from parsers.values import ValueProblem, parse_cvr, parse_phone, parse_postal


@pytest.mark.parametrize("typed", ["DK29189579", "DK-29 18 95 79", "CVR-nr. 29189579", "CVR: 29 18 95 79",
                                   "cvr nr.: 29-18-95-79", "CVR-nummer 29189579", " 29 18 95 79 "])
def test_a_cvr_with_a_prefix_label_or_separators_reads_as_its_eight_digits(typed):
    assert parse_cvr(typed) == "29189579"


@pytest.mark.parametrize("typed", ["29189579 / 12345678", "DK 2918957", "CVR 291895790", "SE 29189579x"])
def test_a_cvr_whose_digits_are_ambiguous_is_not_guessed(typed):
    with pytest.raises(ValueProblem) as problem:
        parse_cvr(typed)
    assert problem.value.code == ValueCode.CVR_FORMAT


def test_a_phone_and_a_postal_code_with_their_labels_read_as_plain_values():
    assert parse_phone("Tlf.: (+45) 41-87-20-00") == "+4541872000"
    assert parse_postal("Postnr. 8000 Aarhus C") == "8000 Aarhus C"


def _record(headings: set[int], *paragraphs: str):
    return read_record(FormDocument(reader="docx", paragraphs=list(paragraphs), headings=headings))


def test_a_bold_paragraph_numbered_as_a_later_section_ends_the_free_text_whatever_its_words():
    record = _record({2}, "4.3 Kort beskrivelse af målgruppen:", "Borgere i bostøtte.",
                     "5. Kommunens erfaring med metoden", "5.1 Har kommunen allerede implementeret Åben Dialog? "
                     "(Ja / Nej): Nej")
    assert record.get("target_group_description") == "Borgere i bostøtte."


def test_a_numbered_paragraph_that_is_not_bold_or_names_this_section_stays_in_the_free_text():
    plain = _record(set(), "4.3 Kort beskrivelse af målgruppen:", "Borgere i bostøtte.",
                    "5. Kommunens erfaring med metoden")
    assert plain.get("target_group_description") == "Borgere i bostøtte.\n5. Kommunens erfaring med metoden"
    same = _record({2}, "4.3 Kort beskrivelse af målgruppen:", "Borgere i bostøtte.", "4 grupper i alt")
    assert same.get("target_group_description") == "Borgere i bostøtte.\n4 grupper i alt"
