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

from storage.coordination import serialise
from storage.decision_models import Decision, DecisionLetter
from storage.models import utcnow
from storage.staff import audit
from storage.states import DecisionState
from web.decisions import (
    DecisionRefused,
    approve_decision,
    propose_selection,
    send_decision_letters,
)
from web.pages import RowId, db_of, redirect, render, round_of, settings_of
from web.security import Staff, checked_staff, client_address, current_staff

router = APIRouter()


def _page(round_name: str) -> str:
    return f"/decision?round={quote(round_name)}"


def _decision(session: Session, decision_id: int) -> Decision:
    serialise(session, f"decision:{decision_id}")  # one step at a time: no double approval, no double send
    decision = session.get(Decision, decision_id)  # read after the lock: what the step before committed
    if decision is None:
        raise HTTPException(404, "Der er ingen afgørelse med dette nummer.")
    return decision


def _approver(staff: Staff) -> None:
    if not staff.role.may_approve:
        raise HTTPException(403, "Kun en godkender (rollen approver eller admin) kan godkende eller sende tilbage.")


@router.post("/ranking/propose")
def propose(request: Request, staff: Annotated[Staff, Depends(checked_staff)], round: Annotated[str, Form()],
            note: Annotated[str, Form()] = "") -> Response:
    round_ = round_of(request, round)
    with db_of(request).session() as session:
        try:
            decision = propose_selection(session, settings_of(request), round_, staff.email, note)
        except DecisionRefused as refused:
            where = _page(round_.name) if refused.code == "decision_locked" else f"/ranking?round={quote(round_.name)}"
            return redirect(request, where, flash=refused.code)
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
        try:
            letters = approve_decision(session, settings_of(request), decision, staff.email)
        except DecisionRefused as refused:
            return redirect(request, _page(decision.round), flash=refused.code)
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
    """Every letter into the outbox in one transaction; sent by the worker's next run, like every reply."""
    with db_of(request).session() as session:
        decision = _decision(session, decision_id)
        try:
            queued, letters = send_decision_letters(session, settings_of(request), decision, staff.email)
        except DecisionRefused as refused:
            return redirect(request, _page(decision.round), flash=refused.code)
        audit(session, staff.email, "send_letters", detail={"round": decision.round, "decision": decision.id,
                                                            "queued": queued, "letters": letters},
              client=client_address(request))
    return redirect(request, _page(decision.round), flash="letters_sent")
