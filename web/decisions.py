"""A round's decision: the proposed selection frozen as a snapshot, approved by another person, a letter for
every application of the round (``web/decision_letters.py``), each approved in the words it is sent in, and
the batch send that refuses while any letter is unapproved or any clarification of the round is open.

The snapshot is taken when staff propose: it is what the approver sees and approves, and what the letters
are drafted from; while the decision is open, ``storage.decision_rule`` refuses every change that would alter
a ground, and records the rest against it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Settings
from config.errors import UipIntakeError
from config.rounds import Round, by_name
from notifications.locale import percent_text
from notifications.reply_queue import queue_letter
from parsers import Problem
from storage.clarifications import open_clarifications
from storage.coordination import serialise
from storage.decision_rule import OPEN_STATES, SELECTION_LOCK, latest_decision
from storage.models import Application, Decision, DecisionLetter, FieldCorrection, ProblemRow, utcnow
from storage.queries import current_values, in_round
from storage.states import DecisionState
from web.application_record import candidate
from web.decision_letters import draft_letters
from web.queue_page import load_records
from web.ranking import MIN_SELECTED, RANKING_FIELDS, Candidate, Ranked, Ranking, rank

__all__ = ["OPEN_STATES", "DecisionRefused", "approve_decision", "latest_decision", "propose_selection",
           "ranking_of", "send_decision_letters"]


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
               Application.late, Application.selected, Application.rejected_reason, Application.rejected_ground,
               Application.late_admitted_reason, Application.current_submission_id)
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
            problems=tuple(own), late=row.late, selected=row.selected, rejected_reason=row.rejected_reason,
            rejected_ground=row.rejected_ground, late_admitted=row.late_admitted_reason))
    corrected_here = [row.id for row in rows if row.id in corrected]
    if corrected_here:
        candidates.extend(candidate(a, record) for a, record in load_records(
            settings, session, RANKING_FIELDS, corrected_here, round_.name, replies=False))
    return candidates


def ranking_of(settings: Settings, session: Session, round_: Round) -> Ranking:
    return rank(ranking_candidates(settings, session, round_), settings.call.late_policy)


def propose_selection(session: Session, settings: Settings, round_: Round, email: str, note: str = "",
                      selection_reason: str = "") -> Decision:
    """Staff's selection of the round, proposed for approval with a snapshot of the ranking. A selection that
    departs from the order (one of a tie chosen, a lower one over a higher) needs ``selection_reason``, which
    the letters of those it concerns give."""
    serialise(session, SELECTION_LOCK)  # the selection cannot change while it is being proposed
    current = latest_decision(session, round_.name)
    if current is not None and current.state in OPEN_STATES:
        raise DecisionRefused("decision_locked")
    ranking = ranking_of(settings, session, round_)
    if not MIN_SELECTED <= len(ranking.selected) <= round_.max_selected:
        raise DecisionRefused("proposal_size")
    reason, departs = selection_reason.strip()[:4000], bool(ranking.passed_over())
    if departs and not reason:
        raise DecisionRefused("selection_reason_needed")
    now = utcnow()
    snapshot = snapshot_of(ranking, round_, email, now)
    snapshot["late_policy"] = settings.call.late_policy
    if departs:
        snapshot["selection_reason"] = reason
        snapshot["departing"] = sorted(ranking.departing())
    snapshot["revisions"] = dict(session.execute(select(Application.reference, Application.revision).where(
        in_round(round_.name, settings.call_rounds[0].name))).all())
    decision = Decision(round=round_.name, state=DecisionState.PROPOSED, proposed_by=email, proposed_at=now,
                        proposal_note=note.strip()[:4000] or None, snapshot=snapshot)
    session.add(decision)
    session.flush()
    return decision


def withdraw_proposal(decision: Decision, email: str) -> None:
    """The proposer takes the proposal back before an approver decided (to change the selection)."""
    if decision.state != DecisionState.PROPOSED:
        raise DecisionRefused("decision_locked")
    if decision.proposed_by != email:
        raise DecisionRefused("not_own_proposal")
    decision.state = DecisionState.WITHDRAWN


def send_back(decision: Decision, email: str, comment: str) -> None:
    """An approver (never the proposer) returns the proposal with a comment."""
    if decision.state != DecisionState.PROPOSED:
        raise DecisionRefused("decision_locked")
    if decision.proposed_by == email:
        raise DecisionRefused("own_proposal")
    decision.state, decision.reviewed_by, decision.reviewed_at = DecisionState.RETURNED, email, utcnow()
    decision.review_comment = comment.strip()[:4000]


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


def edit_letter(letter: DecisionLetter, email: str, subject: str, body: str) -> bool:
    """Staff's new words for a letter of an approved decision; True when they differ from the approved words,
    which sends the letter back for approval of this letter (the approver sees what changed)."""
    if letter.decision.state != DecisionState.APPROVED or letter.reply_id is not None:
        raise DecisionRefused("decision_locked")
    letter.subject, letter.body = subject.strip()[:500], body.replace("\r\n", "\n").strip() + "\n"
    letter.edited_by, letter.edited_at = email, utcnow()
    return not letter.approved


def approve_letter(letter: DecisionLetter, email: str) -> None:
    """An approver approves a letter's new words; never the one who wrote them."""
    if letter.decision.state != DecisionState.APPROVED or letter.reply_id is not None:
        raise DecisionRefused("decision_locked")
    if letter.approved:
        return
    if letter.edited_by == email:
        raise DecisionRefused("own_edit")
    letter.approved_subject, letter.approved_body = letter.subject, letter.body
    letter.approved_by, letter.approved_at = email, utcnow()


def send_refusal(session: Session, settings: Settings, decision: Decision) -> str | None:
    """Why the batch send must wait (a flash code), or None: every letter approved in its words and no
    clarification of the round open (withdraw it, or wait for the answer)."""
    if decision.state != DecisionState.APPROVED:
        return "decision_locked"
    if any(not letter.approved for letter in decision.letters):
        return "letters_unapproved"
    if open_clarifications(session, decision.round, settings.call_rounds[0].name):
        return "clarification_open"
    return None


def send_decision_letters(session: Session, settings: Settings, decision: Decision, email: str
                          ) -> tuple[int, int]:
    """Every letter of the approved decision into the outbox in this transaction, each as a reply in its
    application's conversation; (queued, letters). A letter already queued is not queued again."""
    refusal = send_refusal(session, settings, decision)
    if refusal is not None:
        raise DecisionRefused(refusal)
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
        "tied_with": list(r.tied_with), "late_admitted": r.late_admitted,
        "received": r.candidate.received_at.isoformat(),
    }


def snapshot_of(ranking: Ranking, round_: Round, proposed_by: str, at: datetime) -> dict[str, Any]:
    """The ranking as it stands: every input, the order and ties, the selection, who proposed it and when."""
    return {
        "round": round_.name, "max_selected": round_.max_selected, "proposed_by": proposed_by,
        "proposed_at": at.isoformat(),
        "ranked": [_ranked_entry(r) for r in ranking.ranked],
        "not_eligible": [{"reference": n.candidate.reference, "municipality": n.candidate.municipality,
                          "late": n.candidate.late, "rejected_reason": n.candidate.rejected_reason,
                          "grounds": [g.as_dict() for g in n.grounds]} for n in ranking.not_eligible],
        "selected": [r.candidate.reference for r in ranking.selected],
    }
