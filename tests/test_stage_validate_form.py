"""Stage `validate_form`: the record is checked against the form contract on the day it was received in
Danish time, and every problem is a code with parameters."""

from __future__ import annotations

from datetime import UTC, date, datetime

from stage_support import context, email, through

from ingest.demo import complete_values
from ingest.handlers import attachments, find_form, structure, validate_form
from parsers.problem_codes import ProblemCode


def _validated(memory_db, tmp_path, received_at: datetime = datetime(2019, 9, 2, 9, tzinfo=UTC), uid: str = "1",
               **values):
    ctx = context(memory_db, tmp_path, email(values=complete_values(**values)), uid=uid, received_at=received_at)
    return through(ctx, structure.process, attachments.process, find_form.process, validate_form.process)


def test_a_complete_form_has_no_problems(memory_db, tmp_path):
    assert _validated(memory_db, tmp_path).problems == []


def test_each_problem_names_its_field_with_a_code_and_parameters(memory_db, tmp_path):
    ctx = _validated(memory_db, tmp_path, population="300", target_group_size="1.250", contact_name=None)
    assert [(p.field, p.code, p.params) for p in ctx.problems] == [
        ("contact_name", ProblemCode.MISSING, {}),
        ("population", ProblemCode.POPULATION_BELOW_TARGET, {"population": 300, "target_group_size": 1250})]


def test_the_approval_date_is_judged_against_the_day_of_receipt_in_danish_time(memory_db, tmp_path):
    late_evening = datetime(2019, 9, 2, 22, 30, tzinfo=UTC)  # 3 September 00.30 in Copenhagen
    assert _validated(memory_db, tmp_path, late_evening, approval_date=date(2019, 9, 3)).problems == []
    early = _validated(memory_db, tmp_path, datetime(2019, 9, 2, 21, 30, tzinfo=UTC), uid="2",
                       approval_date=date(2019, 9, 3))
    assert [(p.field, p.code, p.params) for p in early.problems] == [
        ("approval_date", ProblemCode.APPROVAL_AFTER_RECEIPT,
         {"approval_date": "2019-09-03", "received_on": "2019-09-02"})]
