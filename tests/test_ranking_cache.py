"""The ranking kept between requests: served again while nothing it reads has changed, worked out afresh after
any change — staff's (selection, rejection, correction) or the worker's (a new version, a new application)."""

from __future__ import annotations

import mailbox

from sqlalchemy import select, update
from web_support import client_for, sign_in

from ingest.demo import application_email, complete_values, to_bytes
from ingest.poller import Intake
from storage import Application, InboundMessage
from storage.queries import claim_edit
from web.decisions import ranking_of
from web.ranking import Ranking


def fresh(bench) -> Ranking:
    with bench.db.session() as session:
        return ranking_of(bench.settings, session, bench.settings.call_rounds[0])


def kept(client, bench) -> Ranking:
    with bench.db.session() as session:
        return client.app.state.rankings.ranking(bench.settings, session, bench.settings.call_rounds[0])


def test_every_update_of_an_application_row_bumps_its_revision_orm_and_core_alike(bench):
    with bench.db.session() as session:
        application = session.scalars(select(Application).order_by(Application.id)).first()
        before = application.revision
        application.late = not application.late  # through the unit of work
    with bench.db.session() as session:
        application = session.get(Application, application.id)
        assert application.revision == before + 1
        claim_edit(session, application, None)  # a Core UPDATE
        assert application.revision == before + 2
        session.execute(update(Application).where(Application.id == application.id).values(selected=True)
                        .execution_options(synchronize_session=False))
    with bench.db.session() as session:
        assert session.get(Application, application.id).revision == before + 3


def test_an_unchanged_round_is_served_the_kept_ranking_without_working_it_out_again(bench):
    client = client_for(bench)
    sign_in(client)
    first = kept(client, bench)
    assert kept(client, bench) is first
    assert client.get("/ranking").status_code == 200 and kept(client, bench) is first
    assert first == fresh(bench) and len(first.ranked) >= 3


def test_each_change_by_staff_or_the_worker_is_in_the_next_ranking_served(bench):
    client = client_for(bench)
    token = sign_in(client)
    served = [kept(client, bench)]

    def changed() -> None:
        now = kept(client, bench)
        assert now == fresh(bench)
        assert now != served[-1]  # the change is one the ranking shows, and the kept one was not served
        served.append(now)

    top, second, third = (r.candidate.reference for r in served[0].ranked[:3])
    assert client.post("/ranking/select", data={"csrf_token": token, "reference": top}).status_code == 303
    changed()
    assert client.post(f"/applications/{second}/reject",
                       data={"csrf_token": token, "reason": "Trukket tilbage", "action": "reject",
                             "ground": "Kommunen har trukket ansøgningen tilbage."}).status_code == 303
    changed()
    assert client.post(f"/applications/{third}/corrections",
                       data={"csrf_token": token, "key": "target_group_size", "value": "1"}).status_code == 303
    changed()
    assert client.get("/ranking").status_code == 200

    # the worker, in its own process's sessions: a new version of an application, and a new application
    with bench.db.session() as session:
        application = session.scalar(select(Application).where(Application.reference == top))
        message = session.scalar(select(InboundMessage).where(InboundMessage.application_id == application.id))
        municipality, sender = application.municipality, message.sender
    box = mailbox.Maildir(bench.settings.mailbox.maildir_path, create=False)
    box.add(to_bytes(application_email(complete_values(municipality=municipality, target_group_size="7"),
                                       sender=sender, subject=f"Rettet skema {top}",
                                       message_id="<new-version@kommune.dk>")))
    intake = Intake.from_settings(bench.settings)
    try:
        assert intake.poll_once().outcomes == {"application": 1}
        with bench.db.session() as session:
            assert len(session.scalar(select(Application).where(Application.reference == top)).submissions) == 2
        changed()
        box.add(to_bytes(application_email(complete_values(municipality="Vejle Kommune"),
                                           sender="Sagsbehandler <sag@vejle.dk>", message_id="<new@vejle.dk>")))
        assert intake.poll_once().outcomes == {"application": 1}
        changed()
    finally:
        intake.close()
