"""A decision's grounds in words: each ground (a code with parameters, ``storage.reasons.GroundCode``) as its
letter gives it to the municipality, and as the ranking shows it to staff. Figures arrive formatted (shares as
"0,354"); times arrive as ISO strings and are worded here in the call's zone."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from notifications.locale.formats import DANISH_TIME, Language, number_text, percent_text, time_text
from storage.reasons import GroundCode


def _words(language: Language) -> Any:
    from notifications.locale import words

    return words(language)


def _experience(percent: str | None, language: Language) -> str:
    said = _words(language)
    if percent is None:
        return ""
    if percent == "100":
        return str(said.EXPERIENCE["none"])
    if percent == "0":
        return str(said.EXPERIENCE["all"])
    return str(said.EXPERIENCE["some"]).format(percent=percent)


def _params(ground: Mapping[str, Any], language: Language, zone: ZoneInfo) -> dict[str, Any]:
    said = _words(language)
    params = {key: value for key, value in ground.items() if key != "code"}
    for key in ("target_group_total", "population_total", "selected", "ranked"):
        if isinstance(params.get(key), int):
            params[key] = number_text(params[key], language)
    for key in ("received", "deadline"):
        if params.get(key):
            params[key] = time_text(params[key], language, zone)
    for key, digits in (("share", 3), ("lowest_selected_share", 3), ("without_experience", 0)):
        if isinstance(params.get(key), str) and "/" in params[key]:  # an exact fraction, "550/110000"
            params[key] = percent_text(Fraction(params[key]), digits, language)
    params["experience"] = _experience(params.get("without_experience"), language)
    if isinstance(params.get("with"), list):
        names = [str(n) for n in params["with"]]
        params["with"] = ", ".join(names[:-1]) + said.AND + names[-1] if len(names) > 1 else "".join(names)
    if isinstance(params.get("missing"), list):
        params["missing"] = "; ".join(str(m) for m in params["missing"])
    return params


def _key(ground: Mapping[str, Any]) -> str:
    """The wording to use: a ground without its optional text has a wording of its own."""
    code = str(ground.get("code", ""))
    if code == GroundCode.REJECTED and not ground.get("ground"):
        return "rejected_unstated"
    if code == GroundCode.INCOMPLETE and not ground.get("missing"):
        return "incomplete_unstated"
    if code == GroundCode.LATE_ADMITTED and not ground.get("reason"):
        return "late_admitted_by_rule"
    return code


def ground_text(ground: Mapping[str, Any], language: Language = "da", zone: ZoneInfo = DANISH_TIME) -> str:
    """The ground as the decision letter gives it (one or more sentences)."""
    template = _words(language).GROUNDS.get(_key(ground))
    if template is None:
        return str(ground.get("code", "?"))
    return str(template).format_map(_Missing(_params(ground, language, zone)))


def ground_label(ground: Mapping[str, Any], language: Language = "da", zone: ZoneInfo = DANISH_TIME) -> str:
    """The ground as the ranking shows it to staff, short (a letter's wording where there is no short one)."""
    said = _words(language)
    template = said.GROUND_LABELS.get(_key(ground))
    if template is None:
        return ground_text(ground, language, zone)
    return str(template).format_map(_Missing(_params(ground, language, zone)))


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"
