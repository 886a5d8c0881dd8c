"""Rounds as data: which round mail belongs to, the "no open round" reply naming the next opening, a follow-up
staying with its application's round, and the settings refusing rounds out of order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from stage_support import context, email

from config import load_settings
from config.rounds import current_round, next_opening, round_at
from ingest.pipeline import run_pipeline
from storage.reasons import ReasonCode

ROUNDS = [
    {"name": "AD-2019", "deadline": "2019-09-09T12:00:00+02:00", "closes": "2019-10-01T00:00:00+02:00"},
    {"name": "AD-2020", "opens": "2020-03-02T08:00:00+01:00", "deadline": "2020-05-04T12:00:00+02:00",
     "max_selected": 4},
]


def settings_with_rounds():
    return load_settings(None, rounds=ROUNDS)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_mail_belongs_to_the_round_open_when_it_arrived_late_mail_included_until_the_round_closes():
    rounds = settings_with_rounds().call_rounds
    assert round_at(rounds, at("2019-09-01T10:00:00+02:00")).name == "AD-2019"
    assert round_at(rounds, at("2019-09-20T10:00:00+02:00")).name == "AD-2019"  # late, still taken in
    assert round_at(rounds, at("2019-12-01T10:00:00+01:00")) is None  # closed, the next not open yet
    assert next_opening(rounds, at("2019-12-01T10:00:00+01:00")).name == "AD-2020"
    assert round_at(rounds, at("2020-06-01T10:00:00+02:00")).name == "AD-2020"
    assert current_round(rounds, at("2019-12-01T10:00:00+01:00")).name == "AD-2019"


def test_without_configured_rounds_the_call_is_the_one_round_open_from_the_start():
    (only,) = load_settings(None).call_rounds
    assert (only.name, only.opens, only.max_selected) == ("AD-2019", None, 5)
    assert round_at((only,), at("2030-01-01T00:00:00+00:00")) is only


@pytest.mark.parametrize("rounds, named", [
    ([{"name": "A", "deadline": "2019-09-09T12:00"}, {"name": "B", "opens": "2019-08-01T00:00",
                                                      "deadline": "2020-01-01T12:00"}], "'B' opens before"),
    ([{"name": "A", "opens": "2019-09-10T00:00", "deadline": "2019-09-09T12:00"}], "'A': opens must be before"),
    ([{"name": "A", "deadline": "2019-09-09T12:00"}, {"name": "A", "opens": "2020-01-01T00:00",
                                                      "deadline": "2020-05-01T12:00"}], "'A' is configured twice"),
])
def test_rounds_out_of_order_are_refused_naming_the_round(rounds, named):
    with pytest.raises(ValidationError, match=named):
        load_settings(None, rounds=rounds)


def test_a_form_between_rounds_gets_the_no_open_round_reply_naming_the_next_opening(memory_db, tmp_path):
    ctx = context(memory_db, tmp_path, email(), received_at=at("2019-12-01T10:00:00+01:00"),
                  settings=settings_with_rounds())
    run_pipeline(ctx)
    assert ctx.row.outcome == "rejected" and ctx.row.reason.code == ReasonCode.ROUND_CLOSED
    assert ctx.row.reason.params == {"next_round": "AD-2020"}
    (reply,) = ctx.row.replies
    assert "Næste ansøgningsrunde (AD-2020) åbner" in reply.body and "2. marts 2020" in reply.body
    assert ctx.application is None


def test_an_application_is_numbered_dated_and_judged_late_by_the_round_it_arrived_in(memory_db, tmp_path):
    ctx = context(memory_db, tmp_path, email(), received_at=at("2020-05-05T10:00:00+02:00"),
                  settings=settings_with_rounds())
    run_pipeline(ctx)
    assert ctx.application is not None
    assert (ctx.application.reference, ctx.application.round, ctx.application.late) == ("AD-2020-0001", "AD-2020",
                                                                                         True)
    assert "4. maj 2020" in ctx.row.replies[0].body  # the round's own deadline


def test_a_follow_up_after_its_round_closed_still_joins_its_application(memory_db, tmp_path):
    settings = settings_with_rounds()
    first = context(memory_db, tmp_path, email(), received_at=at("2019-09-02T10:00:00+02:00"), settings=settings)
    run_pipeline(first)
    first.session.commit()
    later = context(memory_db, tmp_path, email(message_id="<b@aarhus.dk>", Subject="SV: [AD-2019-0001] rettelse"),
                    uid="2", received_at=at("2019-12-01T10:00:00+01:00"), settings=settings)
    run_pipeline(later)
    assert later.row.outcome == "application" and later.application.reference == "AD-2019-0001"
    assert later.round is not None and later.round.name == "AD-2019"


def test_the_queue_ranking_statistics_and_exports_show_one_round_at_a_time(bench):
    from sqlalchemy import select
    from web_support import Bench, client_for, sign_in

    from storage import Application

    rounds = settings_with_rounds().rounds
    two = Bench(bench.settings.model_copy(update={"rounds": rounds}), bench.db)
    with two.db.session() as session:
        moved = session.scalar(select(Application).where(Application.reference == "AD-2019-0005"))
        moved.round = "AD-2020"
    client = client_for(two)
    sign_in(client)
    current = client.get("/queue").text  # the round open now (AD-2020, open until a next round)
    assert "AD-2019-0005" in current and "AD-2019-0001" not in current and 'id="round"' in current
    first = client.get("/queue?round=AD-2019").text
    assert "AD-2019-0001" in first and "AD-2019-0005" not in first
    assert "AD-2019-0005" not in client.get("/ranking?round=AD-2019").text
    assert "AD-2019-0005" in client.get("/ranking?round=AD-2020").text
    csv_first = client.get("/queue.csv?round=AD-2019").content.decode("utf-8-sig")
    assert "AD-2019-0001" in csv_first and "AD-2019-0005" not in csv_first
    assert "Statistik for runden AD-2020" in client.get("/statistik").text
    assert client.get("/ranking?round=AD-1999").status_code == 404


def test_applications_stored_before_rounds_existed_belong_to_the_first_round(bench):
    from sqlalchemy import select, update
    from web_support import client_for, sign_in

    from storage import Application

    with bench.db.session() as session:
        session.execute(update(Application).values(round=None))  # as migration 0008 leaves them
        count = len(list(session.scalars(select(Application))))
    client = client_for(bench)
    sign_in(client)
    assert f"{count} af {count} ansøgninger" in client.get("/queue").text
    assert "AD-2019-0001" in client.get("/ranking").text and "AD-2019-0001" in client.get("/queue.csv").text
