"""A decision's letters: each application's outcome and grounds (codes with figures) from the frozen snapshot,
and the letter that gives them as a decision must (forvaltningsloven §§ 22–25): the grounds with the call's
rules and criteria, the guidance on appeal, whom to ask, the date and who decided. Worded by the letter
templates and ``notifications.locale`` in the call's language."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from config import Settings
from config.rounds import Round
from notifications import render_reply
from notifications.locale import date_text, time_text
from storage.models import Application, Decision, DecisionLetter, utcnow
from storage.reasons import GroundCode
from storage.states import LetterKind
from web.ranking import MIN_SELECTED

LATE_CODES = (GroundCode.LATE, GroundCode.LATE_ADMITTED)


def _figures(entry: dict[str, Any], snapshot: dict[str, Any]) -> dict[str, Any]:
    return {"rank": entry["rank"], "ranked": len(snapshot["ranked"]), "selected": len(snapshot["selected"]),
            "target_group_total": entry["target_group_total"], "population_total": entry["population_total"],
            "share": entry["share"],
            "without_experience": entry["without_experience"] if entry["experience_known"] else None}


def grounds_for(reference: str, snapshot: dict[str, Any]) -> tuple[LetterKind, list[dict[str, Any]]]:
    """Award or decline, with every ground as a code and its figures, each once, from the frozen snapshot."""
    selected = set(snapshot["selected"])
    ranked = {entry["reference"]: entry for entry in snapshot["ranked"]}
    entry = ranked.get(reference)
    if entry is not None:
        grounds: list[dict[str, Any]] = []
        if reference in selected:
            kind = LetterKind.AWARD
            grounds.append({"code": GroundCode.SELECTED, **_figures(entry, snapshot)})
        else:
            kind = LetterKind.DECLINE
            lowest = max((ranked[r] for r in selected if r in ranked), key=lambda e: e["rank"], default=None)
            grounds.append({"code": GroundCode.RANKED_LOWER, **_figures(entry, snapshot),
                            "lowest_selected_share": lowest["share"] if lowest else None})
        if entry.get("tied_with"):
            grounds.append({"code": GroundCode.TIED, "rank": entry["rank"], "with": entry["tied_with"]})
        if reference in snapshot.get("departing", []):
            grounds.append({"code": GroundCode.SELECTION_REASON, "reason": snapshot.get("selection_reason") or ""})
        if entry.get("late_admitted") is not None:
            grounds.append({"code": GroundCode.LATE_ADMITTED, "reason": entry["late_admitted"],
                            "received": entry.get("received")})
        return kind, grounds
    found = next((n for n in snapshot["not_eligible"] if n["reference"] == reference), None)
    if found is None or not found.get("grounds"):
        return LetterKind.DECLINE, [{"code": GroundCode.NOT_ASSESSED}]
    return LetterKind.DECLINE, [dict(g) for g in found["grounds"]]


def letter_context(settings: Settings, round_: Round, snapshot: dict[str, Any], application: Application,
                   grounds: list[dict[str, Any]], decided_at: Any) -> dict[str, Any]:
    """What a letter template is given: the grounds (times filled in), the call's rules, appeal and contact."""
    call, language = settings.call, settings.call.language
    entries = {e["reference"]: e for e in snapshot["ranked"]}
    entry = entries.get(application.reference, {})
    for ground in grounds:
        if ground["code"] in LATE_CODES:
            ground["received"] = ground.get("received") or application.received_at.isoformat()
            ground["deadline"] = round_.deadline.isoformat()
    return {
        "reference": application.reference, "municipality": application.municipality or "",
        "partners": [m["name"] for m in entry.get("members", [])[1:]],
        "received_local": time_text(application.received_at, language, call.zone),
        "deadline_local": time_text(round_.deadline, language, call.zone),
        "decided_on": date_text(decided_at.astimezone(call.zone).date(), language),
        "round": round_.name, "selected": len(snapshot["selected"]), "ranked": len(snapshot["ranked"]),
        "min_selected": MIN_SELECTED, "max_selected": snapshot.get("max_selected", round_.max_selected),
        "grounds": grounds, "zone": call.zone, "appeal_text": call.appeal_text.get(language, "").strip(),
        "contact": call.contact, "signing_unit": call.signing_unit, "questions_address": call.questions_address,
    }


def draft_letters(session: Session, decision: Decision, applications: list[Application], settings: Settings,
                  round_: Round) -> list[DecisionLetter]:
    """A letter for every application of the round, from the approved snapshot; approved in these words by the
    decision's approver."""
    snapshot = decision.snapshot
    decided_at = decision.reviewed_at or utcnow()
    letters = []
    for application in applications:
        kind, grounds = grounds_for(application.reference, snapshot)
        context = letter_context(settings, round_, snapshot, application, grounds, decided_at)
        template = "decision_award" if kind == LetterKind.AWARD else "decision_decline"
        rendered = render_reply(template, context, settings.call.language, settings.call.template_dir)
        letter = DecisionLetter(decision=decision, application=application, kind=kind, grounds={"grounds": grounds},
                                subject=rendered.subject, body=rendered.body, language=rendered.language,
                                approved_subject=rendered.subject, approved_body=rendered.body,
                                approved_by=decision.reviewed_by, approved_at=decided_at)
        session.add(letter)
        letters.append(letter)
    return letters
