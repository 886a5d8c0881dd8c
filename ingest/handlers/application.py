"""Stage: store the application: reference, the form version with its values and problems, annexes."""

from __future__ import annotations

from ingest.context import MessageContext
from parsers.municipalities import find_municipality
from storage import Application, FieldValueRow, ProblemRow, Submission
from storage.queries import next_reference


def process(ctx: MessageContext) -> None:
    assert ctx.form is not None
    record = ctx.form.record
    municipality = record.get("municipality")
    found = find_municipality(municipality) if municipality else None
    call = ctx.settings.call
    application = Application(
        reference=next_reference(ctx.session, call.reference_prefix, call.deadline.year),
        status="complete" if not ctx.problems else "needs_clarification",
        late=ctx.late,
        received_at=ctx.row.received_at,
        municipality=found.official_name if found else None,
        municipality_code=found.code if found else None,
    )
    ctx.session.add(application)
    submission = Submission(application=application, message_id=ctx.row.id,
                            attachment_id=ctx.form_attachment.id if ctx.form_attachment else None,
                            reader=record.reader, complete=not ctx.problems)
    submission.values = [FieldValueRow(key=v.key, value=v.value, raw=v.raw[:10000], source=v.source)
                         for v in record.values.values()]
    submission.problems = [ProblemRow(field=p.field, label=p.label, message=p.message) for p in ctx.problems]
    ctx.session.add(submission)
    ctx.session.flush()
    application.current_submission = submission
    for attachment in ctx.attachments:
        attachment.application = application
    ctx.row.application = application
    ctx.application = application
