"""Stage `application`: a form becomes a new application with the next reference, or a new version of the
application it follows up; a complete version stays current over an incomplete correction."""

from __future__ import annotations

from datetime import UTC, datetime

from stage_support import context, email, through

from ingest.demo import complete_values
from ingest.handlers import application, attachments, find_form, structure, validate_form
from storage.states import ApplicationStatus

READ = (structure.process, attachments.process, find_form.process, validate_form.process)


def test_a_first_form_is_a_new_application_with_its_version_problems_and_files(memory_db, tmp_path):
    ctx = through(context(memory_db, tmp_path, email(values=complete_values(cvr=None, director_name=None))),
                  *READ, application.process)
    assert ctx.application is not None and ctx.application.reference == "AD-2019-0001"
    assert ctx.application.status == ApplicationStatus.NEEDS_CLARIFICATION and not ctx.application.late
    assert ctx.submission is not None and ctx.submission.version == 1
    assert [(p.field, p.code) for p in ctx.submission.problems] == [("director_name", "missing")]
    values = {v.key: v.value for v in ctx.submission.values}  # written in bulk, read back in the same transaction
    assert values["municipality"] == "Aarhus Kommune" and "cvr" not in values and len(values) == len(
        ctx.form.record.values)
    assert all(a.application is ctx.application for a in ctx.attachments) and ctx.row.application is ctx.application


def test_a_correction_is_a_new_version_and_one_after_the_deadline_keeps_the_application_on_time(memory_db, tmp_path):
    first = through(context(memory_db, tmp_path, email(values=complete_values(director_name=None))),
                    *READ, application.process)
    first.session.commit()
    after_deadline = datetime(2019, 9, 10, 8, tzinfo=UTC)
    second = context(memory_db, tmp_path, email("<b@aarhus.dk>"), uid="2", received_at=after_deadline)
    through(second, structure.process, attachments.process)
    second.thread = second.session.get(type(first.application), first.application.id)
    through(second, find_form.process, validate_form.process, application.process)
    assert second.application is second.thread and second.submission is not None
    assert (second.submission.version, second.submission.after_deadline) == (2, True)
    assert second.application.status == ApplicationStatus.COMPLETE and not second.application.late
    assert second.application.current_submission is second.submission


def test_an_incomplete_correction_does_not_replace_a_complete_version(memory_db, tmp_path):
    first = through(context(memory_db, tmp_path, email()), *READ, application.process)
    first.session.commit()
    second = context(memory_db, tmp_path, email("<b@aarhus.dk>", values=complete_values(population=None)), uid="2")
    through(second, structure.process, attachments.process)
    second.thread = second.session.get(type(first.application), first.application.id)
    through(second, find_form.process, validate_form.process, application.process)
    assert second.submission is not None and second.submission.version == 2
    assert second.application is not None and second.application.current_submission.version == 1
    assert second.application.status == ApplicationStatus.COMPLETE
