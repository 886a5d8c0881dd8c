"""A round's decision: the proposed selection frozen as a snapshot, and a letter for every application of the
round with its grounds (codes and figures, worded by the letter templates in Danish or English).

The snapshot is taken when staff propose: it is what the approver sees and approves, and what the letters
are drafted from; a correction made to an application afterwards changes neither.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Settings
from config.errors import UipIntakeError
from config.rounds import Round, by_name
from notifications import render_reply
from notifications.locale import percent_text, time_text
from notifications.reply_queue import queue_letter
from parsers import Problem
from storage.coordination import serialise
from storage.decision_models import Decision, DecisionLetter
from storage.models import Application, FieldCorrection, ProblemRow, utcnow
from storage.queries import current_values, in_round
from storage.states import DecisionState, LetterKind
from web.application_record import candidate
from web.queue_page import load_records
from web.ranking import MIN_SELECTED, RANKING_FIELDS, Candidate, Ranked, Ranking, rank

OPEN_STATES = (DecisionState.PROPOSED, DecisionState.APPROVED, DecisionState.SENT)


class DecisionRefused(UipIntakeError):
    """A step the decision's state does not allow now; ``code`` is the page's flash message."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def ranking_candidates(settings: Settings, session: Session, round_: Round) -> list[Candidate]:
    """Every application of the round as the ranking reads it, from light rows (no ORM objects): its columns,
    the six fields the ranking reads and its stored problems. A corrected application is read whole, as its
    page shows it (corrections change its fields and its problems)."""
    corrected = set(session.scalars(select(FieldCorrection.application_id).distinct()))
    rows = session.execute(
        select(Application.id, Application.reference, Application.municipality, Application.received_at,
               Application.late, Application.selected, Application.rejected_reason,
               Application.current_submission_id)
        .where(in_round(round_.name, settings.call_rounds[0].name))
        .order_by(Application.received_at, Application.id)).all()
    plain = [row for row in rows if row.id not in corrected]
    values = current_values(session, plain, RANKING_FIELDS)
    problems: dict[int, list[Problem]] = {}
    submissions = [row.current_submission_id for row in plain if row.current_submission_id is not None]
    for start in range(0, len(submissions), 500):
        for found in session.scalars(select(ProblemRow).where(
                ProblemRow.submission_id.in_(submissions[start:start + 500])).order_by(ProblemRow.id)):
            problems.setdefault(found.submission_id, []).append(found.problem())
    candidates = []
    for row in plain:
        own = problems.get(row.current_submission_id or 0, [])
        candidates.append(Candidate(
            reference=row.reference, municipality=row.municipality, received_at=row.received_at,
            complete=row.current_submission_id is not None and not own,
            fields={key: value for key, (value, _source) in values[row.id].items() if value is not None},
            problem_labels=tuple(p.label for p in own), problem_fields=frozenset(p.field for p in own),
            late=row.late, selected=row.selected, rejected_reason=row.rejected_reason))
    corrected_here = [row.id for row in rows if row.id in corrected]
    if corrected_here:
        candidates.extend(candidate(a, record) for a, record in load_records(
            settings, session, RANKING_FIELDS, corrected_here, round_.name, replies=False))
    return candidates


def ranking_of(settings: Settings, session: Session, round_: Round) -> Ranking:
    return rank(ranking_candidates(settings, session, round_))


def propose_selection(session: Session, settings: Settings, round_: Round, email: str, note: str = "") -> Decision:
    """Staff's selection of the round, proposed for approval with a snapshot of the ranking."""
    serialise(session, "selection")  # the selection cannot change while it is being proposed
    current = latest_decision(session, round_.name)
    if current is not None and current.state in OPEN_STATES:
        raise DecisionRefused("decision_locked")
    ranking = ranking_of(settings, session, round_)
    if not MIN_SELECTED <= len(ranking.selected) <= round_.max_selected:
        raise DecisionRefused("proposal_size")
    now = utcnow()
    decision = Decision(round=round_.name, state=DecisionState.PROPOSED, proposed_by=email, proposed_at=now,
                        proposal_note=note.strip()[:4000] or None, snapshot=snapshot_of(ranking, round_, email, now))
    session.add(decision)
    session.flush()
    return decision


def approve_decision(session: Session, settings: Settings, decision: Decision, email: str) -> list[DecisionLetter]:
    """The approver's approval (never the proposer's own): the snapshot frozen, a letter drafted for every
    application of the round."""
    if decision.state != DecisionState.PROPOSED:
        raise DecisionRefused("decision_locked")
    if decision.proposed_by == email:
        raise DecisionRefused("own_proposal")
    now = utcnow()
    decision.state, decision.reviewed_by, decision.reviewed_at = DecisionState.APPROVED, email, now
    decision.snapshot = {**decision.snapshot, "approved_by": email, "approved_at": now.isoformat()}
    rounds = settings.call_rounds
    round_ = by_name(rounds, decision.round) or rounds[0]
    applications = list(session.scalars(select(Application).where(in_round(round_.name, rounds[0].name))
                                        .order_by(Application.reference)))
    return draft_letters(session, decision, applications, settings, round_)


def send_decision_letters(session: Session, settings: Settings, decision: Decision, email: str
                          ) -> tuple[int, int]:
    """Every letter of the approved decision into the outbox in this transaction, each as a reply in its
    application's conversation; (queued, letters). A letter already queued is not queued again."""
    if decision.state != DecisionState.APPROVED:
        raise DecisionRefused("decision_locked")
    queued = 0
    for letter in decision.letters:
        if letter.reply_id is not None:
            continue
        reply = queue_letter(letter.application, settings, letter.subject, letter.body, letter.language)
        if reply is not None:
            session.flush()
            letter.reply_id = reply.id
            queued += 1
    decision.state, decision.sent_by, decision.sent_at = DecisionState.SENT, email, utcnow()
    return queued, len(decision.letters)


def _ranked_entry(r: Ranked) -> dict[str, Any]:
    return {
        "rank": r.rank, "tied": r.tied, "reference": r.candidate.reference, "municipality": r.candidate.municipality,
        "members": [{"name": m.name, "target_group_size": m.target_group_size, "population": m.population,
                     "experienced": m.experienced} for m in r.members],
        "target_group_total": r.target_group_total, "population_total": r.population_total,
        "share": f"{r.share.numerator}/{r.share.denominator}", "share_percent": percent_text(r.share, 3),
        "without_experience": f"{r.without_experience.numerator}/{r.without_experience.denominator}",
        "without_experience_percent": percent_text(r.without_experience, 0),
        "experience_known": any(m.experienced is not None for m in r.members),
        "late": r.candidate.late, "selected": r.candidate.selected, "warnings": list(r.warnings),
    }


def snapshot_of(ranking: Ranking, round_: Round, proposed_by: str, at: datetime) -> dict[str, Any]:
    """The ranking as it stands: every input, the order and ties, the selection, who proposed it and when."""
    return {
        "round": round_.name, "max_selected": round_.max_selected, "proposed_by": proposed_by,
        "proposed_at": at.isoformat(),
        "ranked": [_ranked_entry(r) for r in ranking.ranked],
        "not_eligible": [{"reference": n.candidate.reference, "municipality": n.candidate.municipality,
                          "late": n.candidate.late, "rejected_reason": n.candidate.rejected_reason,
                          "complete": n.candidate.complete, "missing": list(n.candidate.problem_labels),
                          "director_approved": n.candidate.fields.get("director_approved") is True,
                          "reasons": list(n.reasons)} for n in ranking.not_eligible],
        "selected": [r.candidate.reference for r in ranking.selected],
    }


def latest_decision(session: Session, round_name: str) -> Decision | None:
    return session.scalars(select(Decision).where(Decision.round == round_name).order_by(Decision.id.desc())
                           .limit(1)).first()


def grounds_for(reference: str, snapshot: dict[str, Any]) -> tuple[LetterKind, list[dict[str, Any]]]:
    """Award or decline, with the grounds as codes and figures from the frozen snapshot."""
    selected = set(snapshot["selected"])
    ranked = {entry["reference"]: entry for entry in snapshot["ranked"]}
    if reference in selected:
        return LetterKind.AWARD, [{"code": "selected"}]
    if reference in ranked:
        entry = ranked[reference]
        lowest = max((ranked[r] for r in selected if r in ranked), key=lambda e: e["rank"], default=None)
        grounds: list[dict[str, Any]] = [{
            "code": "ranked_lower", "rank": entry["rank"], "ranked": len(ranked),
            "target_group_total": entry["target_group_total"], "population_total": entry["population_total"],
            "share": entry["share_percent"],
            "without_experience": entry["without_experience_percent"] if entry["experience_known"] else None,
            "lowest_selected_share": lowest["share_percent"] if lowest else None}]
        if entry["late"]:
            grounds.append({"code": "late"})
        return LetterKind.DECLINE, grounds
    found = next((n for n in snapshot["not_eligible"] if n["reference"] == reference), None)
    grounds = []
    if found is not None:
        if found["rejected_reason"]:
            grounds.append({"code": "rejected", "reason": found["rejected_reason"]})
        if not found["complete"]:
            grounds.append({"code": "incomplete", "missing": found["missing"]})
        elif not found["director_approved"]:
            grounds.append({"code": "not_approved"})
        if found["complete"] and found["director_approved"] and not found["rejected_reason"]:
            grounds.append({"code": "numbers_missing"})
        if found["late"]:
            grounds.append({"code": "late"})
    return LetterKind.DECLINE, grounds or [{"code": "not_assessed"}]


def draft_letters(session: Session, decision: Decision, applications: list[Application], settings: Settings,
                  round_: Round) -> list[DecisionLetter]:
    """A letter for every application of the round, from the approved snapshot."""
    snapshot = decision.snapshot
    language, zone = settings.call.language, settings.call.zone
    entries = {e["reference"]: e for e in snapshot["ranked"]}
    letters = []
    for application in applications:
        kind, grounds = grounds_for(application.reference, snapshot)
        entry = entries.get(application.reference, {})
        context = {
            "reference": application.reference, "municipality": application.municipality or "kommune",
            "partners": [m["name"] for m in entry.get("members", [])[1:]],
            "received_local": time_text(application.received_at, language, zone),
            "deadline_local": time_text(round_.deadline, language, zone),
            "approved_local": time_text(decision.reviewed_at or utcnow(), language, zone),
            "round": round_.name, "selected": len(snapshot["selected"]), "ranked": len(snapshot["ranked"]),
            "rank": entry.get("rank"), "target_group_total": entry.get("target_group_total"),
            "population_total": entry.get("population_total"), "share": entry.get("share_percent"),
            "without_experience": entry.get("without_experience_percent") if entry.get("experience_known") else None,
            "grounds": grounds, "questions_address": settings.call.questions_address,
        }
        template = "decision_award" if kind == LetterKind.AWARD else "decision_decline"
        rendered = render_reply(template, context, language, settings.call.template_dir)
        letter = DecisionLetter(decision=decision, application=application, kind=kind, grounds={"grounds": grounds},
                                subject=rendered.subject, body=rendered.body, language=rendered.language)
        session.add(letter)
        letters.append(letter)
    return letters
