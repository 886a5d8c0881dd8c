"""A round's decision: staff propose the selection, an approver (another person) approves it or sends it back,
the approved snapshot drafts a letter for every application, staff preview and edit them, then send all in
one batch through the outbox. Every step is audited; each runs in one transaction that holds every other
step of the same decision until it commits."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from starlette.responses import Response

from notifications.reply_queue import queue_letter
from storage.coordination import serialise
from storage.models import Application, Decision, DecisionLetter, Submission, utcnow
from storage.queries import in_round
from storage.staff import audit
from storage.states import DecisionState
from web.decisions import OPEN_STATES, draft_letters, latest_decision, snapshot_of
from web.pages import RowId, db_of, redirect, render, settings_of
from web.ranking import MIN_SELECTED
from web.ranking_page import ranking_of, round_of
from web.security import Staff, checked_staff, client_address, current_staff

router = APIRouter()


def _page(round_name: str) -> str:
    return f"/decision?round={quote(round_name)}"


def _decision(session: Session, decision_id: int) -> Decision:
    serialise(session, f"decision:{decision_id}")  # one step at a time: no double approval, no double send
    decision = session.get(Decision, decision_id)
    if decision is None:
        raise HTTPException(404, "Der er ingen afgørelse med dette nummer.")
    session.refresh(decision)
    return decision


def _approver(staff: Staff) -> None:
    if not staff.role.may_approve:
        raise HTTPException(403, "Kun en godkender (rollen approver eller admin) kan godkende eller sende tilbage.")


@router.post("/ranking/propose")
def propose(request: Request, staff: Annotated[Staff, Depends(checked_staff)], round: Annotated[str, Form()],
            note: Annotated[str, Form()] = "") -> Response:
    round_ = round_of(request, round)
    with db_of(request).session() as session:
        serialise(session, "selection")  # the selection cannot change while it is being proposed
        current = latest_decision(session, round_.name)
        if current is not None and current.state in OPEN_STATES:
            return redirect(request, _page(round_.name), flash="decision_locked")
        ranking = ranking_of(request, session, round_)
        if not MIN_SELECTED <= len(ranking.selected) <= round_.max_selected:
            return redirect(request, f"/ranking?round={quote(round_.name)}", flash="proposal_size")
        now = utcnow()
        decision = Decision(round=round_.name, state=DecisionState.PROPOSED, proposed_by=staff.email, proposed_at=now,
                            proposal_note=note.strip()[:4000] or None,
                            snapshot=snapshot_of(ranking, round_, staff.email, now))
        session.add(decision)
        session.flush()
        audit(session, staff.email, "propose_selection", detail={"round": round_.name, "decision": decision.id,
                                                                 "selected": decision.snapshot["selected"]},
              client=client_address(request))
    return redirect(request, _page(round_.name), flash="proposed")


@router.get("/decision")
def decision_page(request: Request, staff: Annotated[Staff, Depends(current_staff)],
                  round: str = "") -> Response:
    round_ = round_of(request, round)
    with db_of(request).session() as session:
        history = list(session.scalars(select(Decision).where(Decision.round == round_.name)
                                       .options(selectinload(Decision.letters).selectinload(DecisionLetter.application))
                                       .order_by(Decision.id.desc())))
        return render(request, "decision.html", staff, round=round_, decision=history[0] if history else None,
                      history=history[1:], rounds=settings_of(request).call_rounds)


@router.post("/decision/{decision_id}/approve")
def approve(request: Request, decision_id: RowId, staff: Annotated[Staff, Depends(checked_staff)]) -> Response:
    _approver(staff)
    with db_of(request).session() as session:
        decision = _decision(session, decision_id)
        if decision.state != DecisionState.PROPOSED:
            return redirect(request, _page(decision.round), flash="decision_locked")
        if decision.proposed_by == staff.email:
            return redirect(request, _page(decision.round), flash="own_proposal")
        now = utcnow()
        decision.state, decision.reviewed_by, decision.reviewed_at = DecisionState.APPROVED, staff.email, now
        decision.snapshot = {**decision.snapshot, "approved_by": staff.email, "approved_at": now.isoformat()}
        round_ = round_of(request, decision.round)
        first = settings_of(request).call_rounds[0].name == round_.name
        applications = list(session.scalars(
            select(Application).where(in_round(round_.name, first)).order_by(Application.reference)))
        letters = draft_letters(session, decision, applications, settings_of(request), round_)
        audit(session, staff.email, "approve_selection",
              detail={"round": decision.round, "decision": decision.id, "selected": decision.snapshot["selected"],
                      "letters": len(letters)}, client=client_address(request))
    return redirect(request, _page(decision.round), flash="approved")


@router.post("/decision/{decision_id}/return")
def send_back(request: Request, decision_id: RowId, staff: Annotated[Staff, Depends(checked_staff)],
              comment: Annotated[str, Form()] = "") -> Response:
    _approver(staff)
    if not comment.strip():
        raise HTTPException(400, "Skriv en kommentar, så de, der indstillede, ved hvad der skal ændres.")
    with db_of(request).session() as session:
        decision = _decision(session, decision_id)
        if decision.state != DecisionState.PROPOSED:
            return redirect(request, _page(decision.round), flash="decision_locked")
        decision.state, decision.reviewed_by, decision.reviewed_at = DecisionState.RETURNED, staff.email, utcnow()
        decision.review_comment = comment.strip()[:4000]
        audit(session, staff.email, "return_selection", detail={"round": decision.round, "decision": decision.id,
                                                                "comment": decision.review_comment},
              client=client_address(request))
    return redirect(request, _page(decision.round), flash="returned")


def _letter(session: Session, decision_id: int, letter_id: int) -> DecisionLetter:
    letter = session.get(DecisionLetter, letter_id)
    if letter is None or letter.decision_id != decision_id:
        raise HTTPException(404, "Der er intet afgørelsesbrev med dette nummer.")
    return letter


@router.get("/decision/{decision_id}/letters/{letter_id}")
def letter_page(request: Request, decision_id: RowId, letter_id: RowId,
                staff: Annotated[Staff, Depends(current_staff)]) -> Response:
    with db_of(request).session() as session:
        letter = _letter(session, decision_id, letter_id)
        return render(request, "letter.html", staff, letter=letter, decision=letter.decision,
                      application=letter.application)


@router.post("/decision/{decision_id}/letters/{letter_id}")
def edit_letter(request: Request, decision_id: RowId, letter_id: RowId,
                staff: Annotated[Staff, Depends(checked_staff)], subject: Annotated[str, Form()],
                body: Annotated[str, Form()]) -> Response:
    if not subject.strip() or not body.strip():
        raise HTTPException(400, "Et brev skal have både emne og tekst.")
    with db_of(request).session() as session:
        decision = _decision(session, decision_id)
        letter = _letter(session, decision_id, letter_id)
        if decision.state != DecisionState.APPROVED or letter.reply_id is not None:
            return redirect(request, _page(decision.round), flash="decision_locked")
        letter.subject, letter.body = subject.strip()[:500], body.replace("\r\n", "\n").strip() + "\n"
        letter.edited_by, letter.edited_at = staff.email, utcnow()
        audit(session, staff.email, "edit_letter", reference=letter.application.reference,
              detail={"decision": decision.id, "letter": letter.id}, client=client_address(request))
    return redirect(request, _page(decision.round), flash="letter_saved", anchor=f"l-{letter_id}")


@router.post("/decision/{decision_id}/send")
def send_letters(request: Request, decision_id: RowId, staff: Annotated[Staff, Depends(checked_staff)]) -> Response:
    """Every letter of the approved decision into the outbox in one transaction (each as a reply in its
    application's conversation); sent by the worker's next run, like every other reply."""
    settings = settings_of(request)
    with db_of(request).session() as session:
        decision = _decision(session, decision_id)
        if decision.state != DecisionState.APPROVED:
            return redirect(request, _page(decision.round), flash="decision_locked")
        letters = list(session.scalars(select(DecisionLetter).where(DecisionLetter.decision_id == decision.id)
                                       .options(selectinload(DecisionLetter.application).selectinload(
                                           Application.current_submission).load_only(Submission.message_id))))
        queued = 0
        for letter in letters:
            if letter.reply_id is not None:
                continue
            reply = queue_letter(letter.application, settings, letter.subject, letter.body, letter.language)
            if reply is not None:
                session.flush()
                letter.reply_id = reply.id
                queued += 1
        decision.state, decision.sent_by, decision.sent_at = DecisionState.SENT, staff.email, utcnow()
        audit(session, staff.email, "send_letters", detail={"round": decision.round, "decision": decision.id,
                                                            "queued": queued, "letters": len(letters)},
              client=client_address(request))
    return redirect(request, _page(decision.round), flash="letters_sent")
