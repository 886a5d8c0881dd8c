"""A round's decision: staff propose the selection (the proposer may withdraw it), an approver (another person)
approves it or sends it back, the approved snapshot drafts a letter for every application, approved in those
words; staff preview and edit them (an edited letter waits for an approver again, who sees what changed),
then, after a confirmation naming every recipient, send all in one batch through the outbox. Every step is
audited; each runs in one transaction that holds every other step of the same decision until it commits."""

from __future__ import annotations

import difflib
from collections import Counter
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from starlette.responses import Response

from notifications.reply_queue import letter_message
from storage.coordination import serialise
from storage.decision_rule import OPEN_STATES
from storage.models import Application, Decision, DecisionLetter
from storage.staff import audit
from web.decisions import (
    DecisionRefused,
    approve_decision,
    approve_letter,
    edit_letter,
    propose_selection,
    send_back,
    send_decision_letters,
    send_refusal,
    withdraw_proposal,
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
            note: Annotated[str, Form()] = "", selection_reason: Annotated[str, Form()] = "") -> Response:
    round_ = round_of(request, round)
    with db_of(request).session() as session:
        try:
            decision = propose_selection(session, settings_of(request), round_, staff.email, note, selection_reason)
        except DecisionRefused as refused:
            where = _page(round_.name) if refused.code == "decision_locked" else f"/ranking?round={quote(round_.name)}"
            return redirect(request, where, flash=refused.code)
        audit(session, staff.email, "propose_selection", detail={
            "round": round_.name, "decision": decision.id, "selected": decision.snapshot["selected"],
            **({"reason": decision.snapshot["selection_reason"]} if "selection_reason" in decision.snapshot else {})},
            client=client_address(request))
    return redirect(request, _page(round_.name), flash="proposed")


@router.get("/decision")
def decision_page(request: Request, staff: Annotated[Staff, Depends(current_staff)],
                  round: str = "") -> Response:
    round_ = round_of(request, round)
    with db_of(request).session() as session:
        history = list(session.scalars(select(Decision).where(Decision.round == round_.name)
                                       .options(selectinload(Decision.letters).selectinload(DecisionLetter.application),
                                                selectinload(Decision.letters).selectinload(DecisionLetter.reply))
                                       .order_by(Decision.id.desc())))
        decision = history[0] if history else None
        return render(request, "decision.html", staff, round=round_, decision=decision, history=history[1:],
                      rounds=settings_of(request).call_rounds, changed=_changed_since(session, decision),
                      appeal_set=bool(settings_of(request).call.appeal_text.get(settings_of(request).call.language)),
                      letter_counts=Counter(letter.state for letter in decision.letters).most_common()
                      if decision else [])


def _changed_since(session: Session, decision: Decision | None) -> list[str]:
    """The applications of an open decision whose row changed after its snapshot was taken (a new version
    mailed in, a note or review mark, a withdrawn clarification): what the approver may want to look at."""
    if decision is None or decision.state not in OPEN_STATES or "revisions" not in decision.snapshot:
        return []
    frozen: dict[str, int] = decision.snapshot["revisions"]
    now = dict(session.execute(select(Application.reference, Application.revision)
                               .where(Application.reference.in_(list(frozen)))).all())
    return sorted(reference for reference, revision in now.items() if revision != frozen.get(reference))


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
def return_proposal(request: Request, decision_id: RowId, staff: Annotated[Staff, Depends(checked_staff)],
                    comment: Annotated[str, Form()] = "") -> Response:
    _approver(staff)
    if not comment.strip():
        raise HTTPException(400, "Skriv en kommentar, så de, der indstillede, ved hvad der skal ændres.")
    with db_of(request).session() as session:
        decision = _decision(session, decision_id)
        try:
            send_back(decision, staff.email, comment)
        except DecisionRefused as refused:
            return redirect(request, _page(decision.round), flash=refused.code)
        audit(session, staff.email, "return_selection", detail={"round": decision.round, "decision": decision.id,
                                                                "comment": decision.review_comment},
              client=client_address(request))
    return redirect(request, _page(decision.round), flash="returned")


@router.post("/decision/{decision_id}/withdraw")
def withdraw(request: Request, decision_id: RowId, staff: Annotated[Staff, Depends(checked_staff)]) -> Response:
    """The proposer takes the proposal back, to change the selection before anyone approved it."""
    with db_of(request).session() as session:
        decision = _decision(session, decision_id)
        try:
            withdraw_proposal(decision, staff.email)
        except DecisionRefused as refused:
            return redirect(request, _page(decision.round), flash=refused.code)
        audit(session, staff.email, "withdraw_selection", detail={"round": decision.round, "decision": decision.id},
              client=client_address(request))
    return redirect(request, _page(decision.round), flash="withdrawn")


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
                      application=letter.application, changes=_changes(letter))


def _changes(letter: DecisionLetter) -> list[tuple[str, str]]:
    """What an edit changed against the approved words, line by line: ("-", old) / ("+", new) / (" ", same),
    one unchanged line around each change."""
    if letter.approved or letter.approved_body is None:
        return []
    old = [f"Emne: {letter.approved_subject}", *letter.approved_body.splitlines()]
    new = [f"Emne: {letter.subject}", *letter.body.splitlines()]
    lines = [(line[0], line[2:]) for line in difflib.ndiff(old, new) if line[:1] in "-+ "]
    near = {n + step for n, (mark, _) in enumerate(lines) if mark != " " for step in (-1, 0, 1)}
    shown: list[tuple[str, str]] = []
    for n, line in enumerate(lines):  # the changed lines with one line around each; "…" for what is left out
        if n in near:
            shown.append(line)
        elif not shown or shown[-1] != (" ", "…"):
            shown.append((" ", "…"))
    return shown


@router.post("/decision/{decision_id}/letters/{letter_id}")
def save_letter(request: Request, decision_id: RowId, letter_id: RowId,
                staff: Annotated[Staff, Depends(checked_staff)], subject: Annotated[str, Form()],
                body: Annotated[str, Form()]) -> Response:
    if not subject.strip() or not body.strip():
        raise HTTPException(400, "Et brev skal have både emne og tekst.")
    with db_of(request).session() as session:
        decision = _decision(session, decision_id)
        letter = _letter(session, decision_id, letter_id)
        try:
            awaits = edit_letter(letter, staff.email, subject, body)
        except DecisionRefused as refused:
            return redirect(request, _page(decision.round), flash=refused.code)
        audit(session, staff.email, "edit_letter", reference=letter.application.reference,
              detail={"decision": decision.id, "letter": letter.id, "awaits_approval": awaits},
              client=client_address(request))
    return redirect(request, _page(decision.round), flash="letter_awaits_approval" if awaits else "letter_saved",
                    anchor=f"l-{letter_id}")


@router.post("/decision/{decision_id}/letters/{letter_id}/approve")
def approve_edited_letter(request: Request, decision_id: RowId, letter_id: RowId,
                          staff: Annotated[Staff, Depends(checked_staff)]) -> Response:
    """An approver approves an edited letter in its new words (never the one who edited it)."""
    _approver(staff)
    with db_of(request).session() as session:
        decision = _decision(session, decision_id)
        letter = _letter(session, decision_id, letter_id)
        try:
            approve_letter(letter, staff.email)
        except DecisionRefused as refused:
            return redirect(request, f"/decision/{decision_id}/letters/{letter_id}", flash=refused.code)
        audit(session, staff.email, "approve_letter", reference=letter.application.reference,
              detail={"decision": decision.id, "letter": letter.id}, client=client_address(request))
    return redirect(request, _page(decision.round), flash="letter_approved", anchor=f"l-{letter_id}")


@router.get("/decision/{decision_id}/send")
def confirm_send(request: Request, decision_id: RowId, staff: Annotated[Staff, Depends(current_staff)]) -> Response:
    """Before the batch send: how many letters, to whom, and what still stands in the way."""
    with db_of(request).session() as session:
        decision = session.get(Decision, decision_id, options=[
            selectinload(Decision.letters).selectinload(DecisionLetter.reply),
            selectinload(Decision.letters).selectinload(DecisionLetter.application).selectinload(
                Application.messages)])
        if decision is None:
            raise HTTPException(404, "Der er ingen afgørelse med dette nummer.")
        refusal = send_refusal(session, settings_of(request), decision)
        recipients = [(letter, found.reply_address if (found := letter_message(letter.application)) else None)
                      for letter in decision.letters]
        return render(request, "send_letters.html", staff, decision=decision, refusal=refusal,
                      recipients=recipients, round_name=decision.round)


@router.post("/decision/{decision_id}/send")
def send_letters(request: Request, decision_id: RowId, staff: Annotated[Staff, Depends(checked_staff)],
                 confirm: Annotated[str, Form()] = "") -> Response:
    """Every letter into the outbox in one transaction, once confirmed on the confirmation page; sent by the
    worker's next run, like every reply."""
    if confirm != "yes":
        return redirect(request, f"/decision/{decision_id}/send")
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
