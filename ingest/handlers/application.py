"""Stage: store the form as a new application, or as a new version of the application it follows up.

Every version is kept with who sent it; the newest complete version is the application's current one
(an incomplete correction does not replace a complete version). A correction to an on-time application
that arrives after the deadline keeps the application on time and is marked on its version.
"""

from __future__ import annotations

from ingest.context import MessageContext
from parsers.municipalities import find_municipality
from storage import Application, FieldValueRow, ProblemRow, Submission
from storage.coordination import next_reference


def process(ctx: MessageContext) -> None:
    assert ctx.form is not None
    record = ctx.form.record
    municipality = record.get("municipality")
    found = find_municipality(municipality) if municipality else None
    complete = not ctx.problems
    application = ctx.thread
    if application is None:
        call = ctx.settings.call
        application = Application(
            reference=next_reference(ctx.session, call.reference_prefix, call.deadline.year),
            status="needs_clarification", late=ctx.late, received_at=ctx.row.received_at)
        ctx.session.add(application)
    current = application.current_submission
    submission = Submission(application=application, message_id=ctx.row.id,
                            attachment_id=ctx.form_attachment.id if ctx.form_attachment else None,
                            reader=record.reader[:32], complete=complete, version=len(application.submissions) + 1,
                            sender=ctx.row.sender, after_deadline=ctx.thread is not None and ctx.late)
    submission.values = [FieldValueRow(key=v.key, value=v.value, raw=v.raw[:10000], source=v.source[:255])
                         for v in record.values.values()]
    submission.problems = [ProblemRow(field=p.field, label=p.label, message=p.message) for p in ctx.problems]
    ctx.session.add(submission)
    ctx.session.flush()
    if application.id is not None:  # a correction staff began before this version arrived is now stale
        application.edit_version = Application.edit_version + 1  # in SQL: never loses a concurrent bump
    if complete or current is None or not current.complete:
        application.current_submission = submission
        application.status = "complete" if complete else "needs_clarification"
        if found is not None:
            application.municipality, application.municipality_code = found.official_name, found.code
    for attachment in ctx.attachments:
        attachment.application = application
    ctx.row.application = application
    ctx.application = application
    ctx.submission = submission
