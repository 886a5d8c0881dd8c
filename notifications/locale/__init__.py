"""The one place codes become words: reasons, problems, refusals and the formats of dates, numbers and sizes, in
Danish and English. Replies, web pages, the CLI, the exports and the logs all word a code through here, so a
rewording is made once and nothing ever parses a sentence back."""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

from notifications.locale import danish, english
from notifications.locale.formats import (
    DANISH_TIME,
    NOT_GIVEN,
    Language,
    date_text,
    number_text,
    partner_text,
    percent_text,
    short_time_text,
    size_text,
    time_text,
    value_text,
    yes_no_text,
)
from notifications.locale.grounds import ground_label, ground_text
from parsers.errors import UnreadableFile
from parsers.form_record import Problem
from storage.reasons import Reason, ReasonCode

__all__ = [
    "DANISH_TIME",
    "NOT_GIVEN",
    "Language",
    "date_text",
    "expected_text",
    "ground_label",
    "ground_text",
    "number_text",
    "partner_text",
    "percent_text",
    "problem_text",
    "quarantine_why",
    "reason_text",
    "refusal_text",
    "short_time_text",
    "size_text",
    "time_text",
    "value_problem_text",
    "value_text",
    "words",
    "yes_no_text",
]


def words(language: Language) -> ModuleType:
    return english if language == "en" else danish


class _Params(dict[str, Any]):
    """Parameters for ``str.format_map``: a parameter that is missing (purged, or from an older version) shows
    as "?" rather than failing."""

    def __missing__(self, key: str) -> str:
        return "?"


def _fill(template: str, params: Mapping[str, Any]) -> str:
    return template.format_map(_Params(params))


def reason_text(reason: Reason | None, language: Language = "da", zone: ZoneInfo = DANISH_TIME) -> str:
    """Why an email got its outcome, as one line for staff, the CLI and the logs."""
    if reason is None:
        return ""
    said, params = words(language), dict(reason.params)
    match reason.code:
        case ReasonCode.DUPLICATE if params.get("received"):
            params["received"] = time_text(params["received"], language, zone)
        case ReasonCode.OVERSIZED if "size" in params and "limit" in params:
            size, limit = int(params.get("size", 0)), int(params.get("limit", 0))
            params["size"], params["limit"] = size_text(size, language), size_text(limit, language)
            if params["size"] == params["limit"]:  # just over: the rounded figures would read the same
                params["size"], params["limit"] = (f"{number_text(size, language)} bytes",
                                                   f"{number_text(limit, language)} bytes")
        case ReasonCode.QUARANTINED:
            broken = str(params.get("limit", ""))
            params["limit"] = said.QUARANTINE.get(broken, broken)
            if "attempts" in params:
                params["detail"] = _fill(said.ATTEMPTS, params)
        case ReasonCode.FORM_UNREADABLE:
            params["files"] = ", ".join(
                f"{f.get('filename') or '?'}: {said.UNREADABLE.get(f.get('code', ''), f.get('code', '?'))}"
                for f in params.get("files", []))
        case ReasonCode.FOLLOW_UP:
            params["found_by"] = said.FOUND_BY.get(params.get("found_by", ""), params.get("found_by", "?"))
    text = _fill(said.REASONS[reason.code], params)
    no_reply = params.get("no_reply")
    if isinstance(no_reply, Mapping):
        why = _fill(said.NO_REPLY_WHY.get(no_reply.get("code", ""), "{detail}"), no_reply)
        text = _fill(said.NO_REPLY, {"why": why}) if reason.code == ReasonCode.NOT_ANSWERED else (
            f"{text}; {_fill(said.NO_REPLY, {'why': why})}")
    if params.get("bounced_reply"):
        text += "; " + _fill(said.BOUNCED, params)
    return text


def quarantine_why(limit: str, language: Language = "da") -> str:
    """Why a quarantined email could not be handled, as the reply to its sender says it ("… because {why}")."""
    return words(language).QUARANTINE_WHY.get(limit, limit)


def value_problem_text(params: Mapping[str, Any], language: Language = "da") -> str:
    """A value that could not be read: ``ValueProblem.as_dict()`` (code, the value as typed, line, column)."""
    said, values = words(language), dict(params)
    if "column" in values:
        values["column"] = said.COLUMNS.get(values["column"], values["column"])
    text = _fill(said.VALUES.get(str(values.get("value_code", "")), "{value}"), values)
    if values.get("line"):
        text = _fill(said.LINE, {"line": values["line"], "text": text})
    return text


def expected_text(field: str, language: Language = "da") -> str:
    """What the form expects in ``field``, as the clarification request says it ("" when nothing particular)."""
    return words(language).EXPECTED.get(field, "")


def problem_text(problem: Problem, language: Language = "da") -> str:
    """What is wrong with one field of the form, and what we need instead."""
    said, params = words(language), dict(problem.params)
    if problem.code == "unreadable":
        params["value_problem"] = value_problem_text(params, language)
    elif problem.code == "partner_rows":
        params["rows"] = "; ".join(
            _fill(said.PARTNER_ROW, {"row": row.get("row"),
                                     "troubles": ", ".join(value_problem_text(t, language)
                                                           for t in row.get("troubles", []))})
            for row in params.get("rows", []))
    elif problem.code == "approval_after_receipt":
        params["approval_date"] = date_text(params.get("approval_date"), language)
        params["received_on"] = date_text(params.get("received_on"), language)
    elif problem.code in {"too_low", "too_high"}:
        params["value"] = number_text(params.get("value"), language)
    elif problem.code == "population_below_target":
        params["population"] = number_text(params.get("population"), language)
        params["target_group_size"] = number_text(params.get("target_group_size"), language)
    text = _fill(said.PROBLEMS.get(problem.code, "{text}"), params)
    expected = expected_text(problem.field, language)
    if expected and problem.code not in {"not_approved", "legacy"}:
        text += " " + _fill(said.WE_NEED, {"expected": expected})
    return text[0].upper() + text[1:] if text else text


def refusal_text(refusal: UnreadableFile | Mapping[str, Any], language: Language = "da", advice: bool = True) -> str:
    """Why a file was not opened, naming it, and (``advice``) how to send it instead."""
    data = refusal.as_dict() if isinstance(refusal, UnreadableFile) else dict(refusal)
    said = words(language)
    text = _fill(said.REFUSALS.get(str(data.get("cause", "")), "{text}"), data)
    return f"{text} {said.RESEND}" if advice and data.get("cause") != "legacy" else text
