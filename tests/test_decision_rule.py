"""One rule decides what a round with an open decision allows: every POST route of the web app that changes an
application is either refused or recorded against the frozen snapshot while the decision is proposed,
approved or sent, and a new version mailed in by the municipality is recorded, never folded into it."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from test_decisions import TIE_REASON, approver_client, proposed, withdraw_open_clarifications
from web_support import client_for, deliver, sign_in

from storage import Application
from storage.models import AuditEntry, Decision
from web import create_app

# every POST route of the app, and what it is while a decision is open
REFUSED, RECORDED, DECISION_STEP, NOT_AN_APPLICATION = "refused", "recorded", "decision step", "no application"
WORK = "the caseworkers' own work: who has what, what is answered (no value, ground or revision of an application)"
ROUTES = {
    "/login": NOT_AN_APPLICATION, "/logout": NOT_AN_APPLICATION,
    "/messages/{message_id}/retry": NOT_AN_APPLICATION, "/replies/{reply_id}/release": NOT_AN_APPLICATION,
    "/ranking/select": REFUSED, "/ranking/propose": DECISION_STEP,
    "/applications/{reference}/corrections": REFUSED, "/applications/{reference}/reject": REFUSED,
    "/applications/{reference}/admit-late": REFUSED,
    "/applications/{reference}/notes": RECORDED, "/applications/{reference}/review": RECORDED,
    "/applications/{reference}/clarification": RECORDED,
    "/applications/{reference}/clarification/remind": RECORDED,
    "/applications/{reference}/clarification/withdraw": RECORDED,
    "/decision/{decision_id}/approve": DECISION_STEP, "/decision/{decision_id}/return": DECISION_STEP,
    "/decision/{decision_id}/withdraw": DECISION_STEP, "/decision/{decision_id}/letters/{letter_id}": DECISION_STEP,
    "/decision/{decision_id}/letters/{letter_id}/approve": DECISION_STEP, "/decision/{decision_id}/send": DECISION_STEP,
    "/messages/{message_id}/reply": WORK, "/messages/{message_id}/forward": WORK, "/messages/{message_id}/link": WORK,
    "/messages/{message_id}/handled": WORK, "/messages/{message_id}/assign": WORK,
    "/applications/{reference}/assign": WORK,
}
SELECTED = "AD-2019-0004"  # Herning, selected in the demo's proposal

# what each refused route is asked to do to the round (each would change a ground)
ATTEMPTS = [
    ("/ranking/select", {"reference": SELECTED, "selected": "no"}),
    ("/ranking/select", {"reference": "AD-2019-0005"}),
    (f"/applications/{SELECTED}/corrections", {"key": "population", "value": "9.999.999"}),
    (f"/applications/{SELECTED}/reject", {"reason": "intern", "ground": "Trukket tilbage.", "action": "reject"}),
    ("/applications/AD-2019-0007/admit-late", {"reason": "Spamfilteret"}),
    ("/applications/AD-2019-0002/reject", {"undo": "1"}),
]


def test_every_post_route_is_classified_for_an_open_decision():
    from config import load_settings

    def walk(routes):  # the app's routes, through the routers it includes (none with a prefix)
        for route in routes:
            if hasattr(route, "original_router"):
                yield from walk(route.original_router.routes)
            else:
                yield route

    app = create_app(load_settings(None, database={"url": "sqlite://"}))
    posts = {route.path for route in walk(app.routes) if "POST" in (getattr(route, "methods", None) or set())}
    assert len(posts) > 10
    assert posts == set(ROUTES), "a new POST route must say what it does while a decision is open"


def _state(bench, reference: str) -> tuple:
    with bench.db.session() as session:
        a = session.scalar(select(Application).where(Application.reference == reference))
        return (a.selected, a.rejected_reason, a.late_admitted_reason, len(a.corrections), a.revision)


def _frozen(bench) -> tuple:
    with bench.db.session() as session:
        decision = session.scalars(select(Decision).order_by(Decision.id.desc())).first()
        return decision.id, decision.state, decision.snapshot


@pytest.mark.parametrize("stage", ["proposed", "approved", "sent"])
def test_while_a_decision_is_open_every_change_to_a_ground_is_refused_and_the_rest_recorded(bench, stage):
    client, token = proposed(bench)
    with bench.db.session() as session:  # one application of the round rejected before, to try reopening it
        session.scalar(select(Application).where(Application.reference == "AD-2019-0002")).rejected_reason = "x"
    boss, boss_token = approver_client(bench)
    decision_id, _, _ = _frozen(bench)
    if stage in ("approved", "sent"):
        boss.post(f"/decision/{decision_id}/approve", data={"csrf_token": boss_token})
    if stage == "sent":
        withdraw_open_clarifications(client, token)
        client.post(f"/decision/{decision_id}/send", data={"csrf_token": token, "confirm": "yes"})
    frozen = _frozen(bench)
    assert frozen[1] == stage
    for path, data in ATTEMPTS:
        reference = data.get("reference") or path.split("/")[2]
        before = _state(bench, reference)
        response = client.post(path, data={"csrf_token": token, **data})
        assert "flash=decision_locked" in response.headers["location"], path
        assert _state(bench, reference) == before, path
    assert "flash=decision_locked" in client.post("/ranking/propose", data={
        "csrf_token": token, "round": "AD-2019", "selection_reason": TIE_REASON}).headers["location"]
    # what alters no ground is made, and recorded against the open decision
    client.post(f"/applications/{SELECTED}/notes", data={"csrf_token": token, "text": "Ringede til Eva"})
    client.post(f"/applications/{SELECTED}/review", data={"csrf_token": token, "reviewed": "yes"})
    client.post(f"/applications/{SELECTED}/clarification", data={"csrf_token": token, "text": "Hvem deltager?",
                                                                   "action": "send"})
    client.post(f"/applications/{SELECTED}/clarification/withdraw", data={"csrf_token": token})
    with bench.db.session() as session:
        recorded = {e.action for e in session.scalars(select(AuditEntry).where(AuditEntry.reference == SELECTED))
                    if e.detail.get("decision") == decision_id}
    assert recorded == {"add_note", "mark_reviewed", "send_clarification", "withdraw_clarification"}
    assert _frozen(bench) == frozen  # the snapshot as it was, to the letter
    changed = client.get("/decision").text.split("Ændret siden indstillingen")[1].split("</p>")[0]
    assert "AD-2019-0005" not in changed
    client.post("/applications/AD-2019-0005/assign", data={"csrf_token": token, "to": "anna@socialstyrelsen.dk"})
    assert "AD-2019-0005" not in client.get("/decision").text.split("Ændret siden indstillingen")[1].split(
        "</p>")[0]  # giving an application to a caseworker is no change to what was decided
    assert SELECTED in client.get("/decision").text.split("Ændret siden indstillingen")[1].split("</p>")[0]


def test_a_new_version_mailed_in_during_a_decision_is_recorded_against_it_and_changes_no_ground(bench):
    from ingest.demo import application_email, complete_values, to_bytes

    proposed(bench)
    frozen = _frozen(bench)
    deliver(bench, to_bytes(application_email(
        complete_values(municipality="Holbæk Kommune", contact_email="ole@holb.dk", target_group_size="900",
                        population="72.000", cvr=None),
        sender="Ole Ries <ole@holb.dk>", subject="Re: [AD-2019-0005] Kvittering: rettet skema")))
    with bench.db.session() as session:
        holbaek = session.scalar(select(Application).where(Application.reference == "AD-2019-0005"))
        assert len(holbaek.submissions) == 2  # the new version is kept ...
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "new_version_after_proposal"))
        assert entry.reference == "AD-2019-0005" and entry.detail["decision"] == frozen[0]
    assert _frozen(bench) == frozen  # ... and the proposal still stands on what was proposed
    client = client_for(bench)
    sign_in(client)
    assert "AD-2019-0005" in client.get("/decision").text.split("Ændret siden indstillingen")[1].split("</p>")[0]
