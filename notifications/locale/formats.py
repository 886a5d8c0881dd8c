"""Dates, times, numbers, sizes and yes/no as people write them, in Danish and English: one formatter each,
used by the replies, the web pages, the CLI and the exports."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

Language = Literal["da", "en"]
DANISH_TIME = ZoneInfo("Europe/Copenhagen")

_MONTHS = {
    "da": ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober",
           "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}
NOT_GIVEN = {"da": "(ikke angivet)", "en": "(not given)"}
_YES_NO = {"da": ("Ja", "Nej"), "en": ("Yes", "No")}


def date_text(day: date | str | None, language: Language = "da") -> str:
    """'3. september 2019' / '3 September 2019' (an ISO string is read first)."""
    if day is None or day == "":
        return NOT_GIVEN[language]
    if isinstance(day, str):
        day = date.fromisoformat(day[:10])
    month = _MONTHS[language][day.month - 1]
    return f"{day.day}. {month} {day.year}" if language == "da" else f"{day.day} {month} {day.year}"


def time_text(moment: datetime | str | None, language: Language = "da", zone: ZoneInfo = DANISH_TIME) -> str:
    """'3. september 2019 kl. 11.30' / '3 September 2019 at 11:30', in ``zone`` (Danish time by default)."""
    if moment is None or moment == "":
        return NOT_GIVEN[language]
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    local = moment.astimezone(zone)
    if language == "da":
        return f"{date_text(local.date(), language)} kl. {local:%H.%M}"
    return f"{date_text(local.date(), language)} at {local:%H:%M}"


def short_time_text(moment: datetime, zone: ZoneInfo = DANISH_TIME) -> str:
    """'03-09-2019 11.30': the compact form for tables (same zone rule as ``time_text``)."""
    return moment.astimezone(zone).strftime("%d-%m-%Y %H.%M")


def number_text(value: object, language: Language = "da") -> str:
    """'1.250' / '1,250'; anything that is not a whole number as it is, nothing as 'not given'."""
    if isinstance(value, bool) or value is None:
        return NOT_GIVEN[language] if value is None else str(value)
    if isinstance(value, int):
        grouped = f"{value:,}"
        return grouped.replace(",", ".") if language == "da" else grouped
    return str(value)


def percent_text(fraction: Any, digits: int = 2, language: Language = "da") -> str:
    """A fraction as a percentage without the sign: '0,354' / '0.354'."""
    shown = f"{float(fraction) * 100:.{digits}f}"
    return shown.replace(".", ",") if language == "da" else shown


def size_text(size: int, language: Language = "da") -> str:
    """Megabytes as mail programs count them (2**20 bytes): '10 MB', '10,5 MB' / '10.5 MB'; small files in kB."""
    if size < 1_048_576:
        figure, unit = size / 1024, "kB"
    else:
        figure, unit = size / 1_048_576, "MB"
    text = f"{figure:.1f}".removesuffix(".0")
    return f"{text.replace('.', ',') if language == 'da' else text} {unit}"


def yes_no_text(value: object, language: Language = "da") -> str:
    if value is True:
        return _YES_NO[language][0]
    if value is False:
        return _YES_NO[language][1]
    return NOT_GIVEN[language]


def value_text(value: Any, language: Language = "da") -> str:
    """A form value as people read it: yes/no, a grouped number, a written date, names joined, partner rows."""
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, bool):
        return yes_no_text(value, language)
    if isinstance(value, int):
        return number_text(value, language)
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return date_text(value, language)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    if isinstance(value, list):
        return "; ".join(partner_text(p, language) if isinstance(p, dict) else str(p) for p in value)
    return str(value)


def partner_text(partner: dict[str, Any], language: Language = "da") -> str:
    """One partner municipality as staff type it: "Kommune; målgruppe; indbyggere[; Ja/Nej]"."""
    parts = [str(partner.get("municipality") or "?"), value_text(partner.get("target_group_size"), language) or "?",
             value_text(partner.get("population"), language) or "?"]
    if isinstance(partner.get("already_implemented"), bool):
        parts.append(value_text(partner["already_implemented"], language))
    return "; ".join(parts)
