from datetime import date

import pytest

from parsers.problem_codes import ValueCode
from parsers.values import (
    ValueProblem,
    parse_cvr,
    parse_date,
    parse_email,
    parse_integer,
    parse_names,
    parse_phone,
    parse_yes_no,
)


@pytest.mark.parametrize(("typed", "expected"), [
    ("1.250", 1250), ("59 000", 59000), ("ca. 300", 300), ("300 borgere", 300), ("1.250,0", 1250),
    ("352.751", 352751), ("6", 6), ("cirka 40", 40), ("59\u00a0000", 59000),
])
def test_danish_integers_are_read_as_typed(typed, expected):
    assert parse_integer(typed) == expected


@pytest.mark.parametrize("typed", ["mange", "2.5", "1.250,5", "300-400", ""])
def test_non_integers_are_problems_not_guesses(typed):
    with pytest.raises(ValueProblem):
        parse_integer(typed)


@pytest.mark.parametrize(("typed", "expected"), [
    ("2.9.2019", date(2019, 9, 2)), ("02-09-2019", date(2019, 9, 2)), ("2. september 2019", date(2019, 9, 2)),
    ("2019-09-02", date(2019, 9, 2)), ("2/9 2019", date(2019, 9, 2)), ("02.09.19", date(2019, 9, 2)),
    ("den 2. sep. 2019", date(2019, 9, 2)),
])
def test_danish_dates_are_read_as_typed(typed, expected):
    assert parse_date(typed) == expected


@pytest.mark.parametrize("typed", ["31-02-2019", "snart", "2019"])
def test_impossible_or_unreadable_dates_are_problems(typed):
    with pytest.raises(ValueProblem):
        parse_date(typed)


@pytest.mark.parametrize(("typed", "expected"), [
    ("ja", True), ("JA", True), ("Ja, det har vi", True), ("nej", False), ("Nej.", False)])
def test_yes_no_in_danish(typed, expected):
    assert parse_yes_no(typed) is expected


def test_yes_no_rejects_other_words():
    with pytest.raises(ValueProblem):
        parse_yes_no("måske")


@pytest.mark.parametrize("typed", ["+45 12 34 56 78", "0045 12345678", "12 34 56 78", "12-34-56-78"])
def test_phone_numbers_normalise_to_plus45(typed):
    assert parse_phone(typed) == "+4512345678"


def test_cvr_accepts_spaces_and_checks_modulus_11():
    assert parse_cvr("5513 3018") == "55133018"
    with pytest.raises(ValueProblem) as wrong_digit:
        parse_cvr("55133019")
    assert wrong_digit.value.code == ValueCode.CVR_CHECK_DIGIT
    with pytest.raises(ValueProblem):
        parse_cvr("1234567")


def test_email_syntax_is_checked_and_domain_lowercased():
    assert parse_email("Mette.Jensen@Aarhus.DK") == "Mette.Jensen@aarhus.dk"
    for bad in ("mette@", "mette jensen@aarhus.dk", "mette@@aarhus.dk", "mette@aarhus"):
        with pytest.raises(ValueProblem):
            parse_email(bad)


def test_team_names_split_on_lines_commas_and_semicolons():
    assert parse_names("Anne Ravn, Peter Lund; Ida Krogh\n- Bo Ek") == ["Anne Ravn", "Peter Lund", "Ida Krogh",
                                                                         "Bo Ek"]
