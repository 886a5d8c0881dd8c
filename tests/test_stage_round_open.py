"""Stage `round_open`: new mail belongs to the round open when it arrived, a follow-up to its application's round
whenever it comes; with no round open, or intake closed by the operator, the message is answered that there is
no open round, naming the next opening when one is configured."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from stage_support import context, email

from config import load_settings
from ingest.errors import RejectMessage
from ingest.handlers import round_open
from storage import Application
from storage.reasons import ReasonCode
from storage.states import ApplicationStatus

ROUNDS = [
    {"name": "AD-2019", "deadline": "2019-09-09T12:00:00+02:00", "closes": "2019-10-01T00:00:00+02:00"},
    {"name": "AD-2020", "opens": "2020-03-02T08:00:00+01:00", "deadline": "2020-05-04T12:00:00+02:00"},
]
IN_2019 = datetime(2019, 9, 2, 8, 0, tzinfo=UTC)
BETWEEN = datetime(2019, 12, 1, 9, 0, tzinfo=UTC)  # AD-2019 closed, AD-2020 not open yet


def _context(memory_db, tmp_path, received_at: datetime, **call: object):
    settings = load_settings(None, rounds=ROUNDS, call=call) if call else load_settings(None, rounds=ROUNDS)
    return context(memory_db, tmp_path, email(), received_at=received_at, settings=settings)


def test_new_mail_belongs_to_the_round_open_when_it_arrived(memory_db, tmp_path):
    ctx = _context(memory_db, tmp_path, IN_2019)
    round_open.process(ctx)
    assert ctx.round is not None and ctx.round.name == "AD-2019"


def test_mail_between_rounds_is_answered_that_none_is_open_naming_the_next_opening_in_danish_time(
        memory_db, tmp_path):
    ctx = _context(memory_db, tmp_path, BETWEEN)
    with pytest.raises(RejectMessage) as refused:
        round_open.process(ctx)
    assert refused.value.reason.code == ReasonCode.ROUND_CLOSED
    assert refused.value.reason.params == {"next_round": "AD-2020"}
    assert refused.value.template == "round_closed" and refused.value.context["next_round"] == "AD-2020"
    assert "2. marts 2020" in refused.value.context["next_opens_local"]
    assert "08.00" in refused.value.context["next_opens_local"]  # 08:00 in Copenhagen, not 07:00 UTC


def test_a_follow_up_between_rounds_stays_with_its_applications_round(memory_db, tmp_path):
    ctx = _context(memory_db, tmp_path, BETWEEN)
    ctx.thread = Application(reference="AD-2019-0007", status=ApplicationStatus.NEEDS_CLARIFICATION, late=False,
                             received_at=IN_2019, round="AD-2019")
    round_open.process(ctx)
    assert ctx.round is not None and ctx.round.name == "AD-2019"


def test_with_intake_closed_by_the_operator_even_a_follow_up_is_answered_that_no_round_is_open(memory_db, tmp_path):
    ctx = _context(memory_db, tmp_path, IN_2019, open=False)
    ctx.thread = Application(reference="AD-2019-0007", status=ApplicationStatus.NEEDS_CLARIFICATION, late=False,
                             received_at=IN_2019, round="AD-2019")
    with pytest.raises(RejectMessage) as refused:
        round_open.process(ctx)
    assert refused.value.reason.code == ReasonCode.ROUND_CLOSED and refused.value.reason.params == {}
    assert refused.value.application is ctx.thread and "next_round" not in refused.value.context
