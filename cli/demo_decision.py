"""The demo's round taken to its end, as staff and an approver would do it in the web app: the three best
ranked selected, proposed, approved by another person, and every application's decision letter sent into the
demo outbox (.eml files)."""

from __future__ import annotations

from config import Settings
from config.rounds import current_round
from ingest.poller import Intake
from storage.models import utcnow
from storage.queries import get_application
from storage.staff import audit
from web.decisions import approve_decision, propose_selection, ranking_of, send_decision_letters

CASEWORKER = "sagsbehandler@demo.socialstyrelsen.dk"
APPROVER = "direktoer@demo.socialstyrelsen.dk"


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
        decision = propose_selection(session, settings, round_, CASEWORKER, "Demo: de tre bedst placerede")
        audit(session, CASEWORKER, "propose_selection", detail={"round": round_.name, "decision": decision.id})
        told.append(f"Round {round_.name}: {CASEWORKER} proposed {', '.join(decision.snapshot['selected'])}")
        letters = approve_decision(session, settings, decision, APPROVER)
        audit(session, APPROVER, "approve_selection", detail={"round": round_.name, "decision": decision.id})
        awards = sum(1 for letter in letters if letter.kind == "award")
        told.append(f"{APPROVER} approved it: {awards} award and {len(letters) - awards} decline letters drafted")
        queued, _ = send_decision_letters(session, settings, decision, CASEWORKER)
        audit(session, CASEWORKER, "send_letters", detail={"round": round_.name, "queued": queued})
    report = intake.send_replies()
    told.append(f"{queued} decision letters queued; {report.sent} written to {settings.smtp.outbox_dir}/")
    return told

