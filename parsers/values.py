"""Danish values as people type them, normalised: numbers, dates, yes/no, phone, CVR, e-mail.

Each function returns the normalised value or raises :class:`ValueProblem` with a code and the value as typed.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

from config.errors import UipIntakeError
from parsers.problem_codes import ValueCode

_MONTHS = {
    "januar": 1, "jan": 1, "februar": 2, "feb": 2, "marts": 3, "mar": 3, "april": 4, "apr": 4,
    "maj": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
    "sep": 9, "sept": 9, "oktober": 10, "okt": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}


class ValueProblem(UipIntakeError, ValueError):
    """A value was present but could not be read as its type: a code, the value as typed, other parameters."""

    def __init__(self, code: ValueCode, value: str = "", **params: Any) -> None:
        super().__init__(f"{code}: {value}")
        self.code = code
        self.params: dict[str, Any] = {"value": value.strip(), **params}

    def as_dict(self) -> dict[str, Any]:
        return {"value_code": str(self.code), **self.params}


_WIDE_SPACES = re.compile(r"[\u00a0\u2000-\u200b\u202f\u205f\u3000\t]")
_RUN_OF_SPACES = re.compile(r" {2,}")


def clean_text(value: str) -> str:
    """NFC, non-breaking and en spaces folded, runs of blanks collapsed, lines kept."""
    value = _WIDE_SPACES.sub(" ", unicodedata.normalize("NFC", value))
    lines = [_RUN_OF_SPACES.sub(" ", line).strip() for line in value.splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def parse_integer(value: str) -> int:
    """'1.250', '59 000', 'ca. 300', '300 borgere', '1.250,0' → int."""
    text = clean_text(value).lower()
    text = re.sub(r"^(ca\.?|cirka|omkring|ca)\s*", "", text)
    match = re.search(r"\d[\d. ]*(,\d+)?", text)
    if not match:
        raise ValueProblem(ValueCode.NOT_A_NUMBER, value)
    number = match.group(0).strip()
    whole, _, fraction = number.partition(",")
    groups = re.split(r"[. ]", whole)
    if len(groups) > 1 and not all(len(g) == 3 for g in groups[1:]):
        # "2.5" is a decimal number typed the English way, not a thousands separator
        raise ValueProblem(ValueCode.NOT_WHOLE, value)
    if fraction and int(fraction) != 0:
        raise ValueProblem(ValueCode.NOT_WHOLE, value)
    rest = text[match.end():].strip()
    if re.search(r"\d", rest):
        raise ValueProblem(ValueCode.SEVERAL_NUMBERS, value)
    return int("".join(groups))


# a place ("Odense, " or "Aarhus " before d./den), a weekday, then "d." or "den"
_DATE_PREFIX = re.compile(r"^(?:[a-zæøå][a-zæøå .\-]*?(?:,\s*|\s+(?=d\.|den\b)))?(?:[a-zæøå]+dag\s*,?\s*)?"
                          r"(?:d\.|den\b)?\s*")


def _year(text: str) -> int:
    return int(text) + (2000 if len(text) == 2 else 0)


def parse_date(value: str) -> date:
    """A date as Danes write it → date: '2.9.2019', '02-09-2019', '28.08.19', '28/8-2019', '2019-09-02',
    '2. september 2019', '28. aug. 2019', '28-aug-19', with 'd.'/'den', a weekday or a place first
    ('Odense, d. 28/8-2019', 'mandag den 26. august 2019')."""
    text = clean_text(value).lower().rstrip(".")
    text = _DATE_PREFIX.sub("", text, count=1).strip()
    try:
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := re.fullmatch(r"(\d{1,2})\s*[.\-/ ]\s*(\d{1,2})\s*[.\-/ ]\s*(\d{2}|\d{4})", text):
            return date(_year(m[3]), int(m[2]), int(m[1]))
        if m := re.fullmatch(r"(\d{1,2})\.?\s*[\-/]?\s*([a-zæøå]+)\.?\s*[\-/]?\s*(\d{2}|\d{4})", text):
            month = _MONTHS.get(m[2])
            if month:
                return date(_year(m[3]), month, int(m[1]))
    except ValueError as exc:
        raise ValueProblem(ValueCode.INVALID_DATE, value) from exc
    raise ValueProblem(ValueCode.UNREADABLE_DATE, value)


_YES = ("ja", "yes", "j", "x ja")
_NO = ("nej", "no", "n", "x nej")


def parse_yes_no(value: str) -> bool:
    """'ja', 'JA', 'Ja, det har vi', 'nej' → bool."""
    text = clean_text(value).lower()
    first = re.split(r"[\s,.;:!()-]+", text, maxsplit=1)[0] if text else ""
    if first in _YES or text in _YES:
        return True
    if first in _NO or text in _NO:
        return False
    raise ValueProblem(ValueCode.NEITHER_YES_NOR_NO, value)


def _without_label(text: str, words: str) -> str:
    """``text`` without leading label words (``words``: a regex alternation, e.g. 'tlf|telefon') and their
    punctuation: 'Tlf.: 12 34 56 78' → '12 34 56 78', 'CVR-nr. 29189579' → '29189579'."""
    label = re.compile(rf"^\s*(?:(?i:{words})\b\.?\s*[-:.]?\s*)+")
    return label.sub("", text, count=1)


def parse_phone(value: str) -> str:
    """'+45 12 34 56 78', '0045 12345678', '12 34 56 78', 'Tlf. (+45) 12-34-56-78' → '+4512345678'."""
    text = _without_label(clean_text(value), r"tlf|telefon|telefonnummer|telefonnr|mobil|mobilnr|tel|phone|nr")
    digits = re.sub(r"[\s\-./()]", "", text)
    if digits.startswith("+45"):
        digits = digits[3:]
    elif digits.startswith("0045"):
        digits = digits[4:]
    if not re.fullmatch(r"\d{8}", digits):
        raise ValueProblem(ValueCode.PHONE, value)
    return "+45" + digits


_CVR_WEIGHTS = (2, 7, 6, 5, 4, 3, 2, 1)


def parse_cvr(value: str) -> str:
    """8 digits, modulus-11 check → '12345678'; spaces, dashes and dots between the digits, a country prefix
    and a label are allowed when the digits are unambiguous: 'DK29189579', 'DK-29 18 95 79', 'CVR-nr. 29189579',
    'CVR: 29 18 95 79'."""
    text = _without_label(clean_text(value), r"cvr-nummer|cvr-nr|cvr|nr|nummer|dk")
    text = re.sub(r"^(?i:dk)[-\s]?(?=\d)", "", text)  # 'DK29189579', 'DK-29…'
    digits = re.sub(r"(?<=\d)[\s\-.]+(?=\d)", "", text).strip()
    if not re.fullmatch(r"\d{8}", digits):
        raise ValueProblem(ValueCode.CVR_FORMAT, value)
    if sum(int(d) * w for d, w in zip(digits, _CVR_WEIGHTS, strict=True)) % 11:
        raise ValueProblem(ValueCode.CVR_CHECK_DIGIT, value)
    return digits


_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")


def parse_email(value: str) -> str:
    text = clean_text(value).strip("<>").removeprefix("mailto:")
    if not _EMAIL.fullmatch(text) or ".." in text:
        raise ValueProblem(ValueCode.EMAIL, value)
    local, _, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"


def parse_postal(value: str) -> str:
    text = _without_label(clean_text(value).replace("\n", " "), r"postnummer|postnr|post nr")
    text = re.sub(r"^(?i:dk)[- ]?", "", text)
    if not re.fullmatch(r"\d{4}\s+\S.*", text):
        raise ValueProblem(ValueCode.POSTAL, value)
    return text


def parse_names(value: str) -> list[str]:
    """One name per line, or separated by commas / semicolons."""
    parts = re.split(r"[\n;,]+", clean_text(value))
    return [re.sub(r"^[\-•*·\d.)\s]+", "", p).strip() for p in parts if p.strip(" -•*·")]
