"""The demo's round taken to its end, as staff and an approver would do it in the web app: the three best
ranked selected (which splits the tie on rank 3, so the proposal gives its reason), proposed, approved by
another person, and every application's decision letter sent into the demo outbox (.eml files). The
municipalities have answered their clarification requests by then; one still open would be withdrawn, as
staff may, before the letters can go."""

from __future__ import annotations

from config import Settings
from config.rounds import current_round
from ingest.poller import Intake
from storage.clarifications import open_clarifications, withdraw
from storage.models import utcnow
from storage.queries import get_application
from storage.staff import audit
from web.decisions import approve_decision, propose_selection, ranking_of, send_decision_letters

CASEWORKER = "sagsbehandler@demo.socialstyrelsen.dk"
APPROVER = "direktoer@demo.socialstyrelsen.dk"
TIE_REASON = ("Ansøgningerne står lige efter begge kriterier, og der var kun plads til én af dem inden for de "
              "tre forløb, Socialstyrelsen starter i denne runde. Ved lige placering er den først modtagne "
              "ansøgning valgt.")
WITHDRAWN_BECAUSE = "Runden afgøres nu: ansøgningen vurderes, som den foreligger."


def decide_demo_round(intake: Intake, settings: Settings) -> list[str]:
    """Select, propose, approve and send; returns what happened, line by line."""
    round_ = current_round(settings.call_rounds, utcnow())
    told = []
    with intake.db.session() as session:
        ranking = ranking_of(settings, session, round_)
        chosen = ranking.ranked[:3]
        for entry in chosen:
            application = get_application(session, entry.candidate.reference)
            assert application is not None
            application.selected, application.selected_at, application.selected_by = True, utcnow(), CASEWORKER
            audit(session, CASEWORKER, "select", reference=application.reference)
        session.flush()
        decision = propose_selection(session, settings, round_, CASEWORKER, "Demo: de tre bedst placerede",
                                     TIE_REASON)
        audit(session, CASEWORKER, "propose_selection", detail={"round": round_.name, "decision": decision.id,
                                                                "reason": TIE_REASON})
        told.append(f"Round {round_.name}: {CASEWORKER} proposed {', '.join(decision.snapshot['selected'])} "
                    f"(splitting the tie on rank 3, with the reason the letters give)")
        letters = approve_decision(session, settings, decision, APPROVER)
        audit(session, APPROVER, "approve_selection", detail={"round": round_.name, "decision": decision.id})
        awards = sum(1 for letter in letters if letter.kind == "award")
        told.append(f"{APPROVER} approved it: {awards} award and {len(letters) - awards} decline letters drafted")
        for asked in open_clarifications(session, round_.name, settings.call_rounds[0].name).values():
            withdraw(asked, CASEWORKER)
            reference = asked.application.reference if asked.application else None
            audit(session, CASEWORKER, "withdraw_clarification", reference=reference,
                  detail={"reply": asked.message_id_header, "reason": WITHDRAWN_BECAUSE, "decision": decision.id})
            told.append(f"{CASEWORKER} withdrew the open clarification request of {reference}")
        queued, _ = send_decision_letters(session, settings, decision, CASEWORKER)
        audit(session, CASEWORKER, "send_letters", detail={"round": round_.name, "queued": queued})
    report = intake.send_replies()
    told.append(f"{queued} decision letters queued; {report.sent} written to {settings.smtp.outbox_dir}/")
    return told
