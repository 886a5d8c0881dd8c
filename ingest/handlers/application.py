"""Stage: store the form as a new application, or as a new version of the application it follows up.

Every version is kept with who sent it; the newest complete version is the application's current one
(an incomplete correction does not replace a complete version). A correction to an on-time application
that arrives after the deadline keeps the application on time and is marked on its version. A new version of
an application whose round has an open decision is recorded against it (``storage.decision_rule``): the
decision's frozen snapshot and letters stay as they are, and staff see the change on the decision page.
"""

from __future__ import annotations

from sqlalchemy import insert, inspect
from sqlalchemy.orm import Session

from ingest.context import MessageContext
from parsers import Problem
from parsers.form_record import FormRecord
from parsers.municipalities import find_municipality
from storage import Application, Attachment, FieldValueRow, InboundMessage, ProblemRow, Submission
from storage.coordination import next_reference
from storage.decision_rule import RoundChange, rule
from storage.queue_index import form_search_text
from storage.staff import audit
from storage.states import ApplicationStatus

WORKER = "uip-intake"  # the actor of what the worker records in the log


def process(ctx: MessageContext) -> None:
    assert ctx.form is not None
    application = ctx.thread
    if application is None:
        call = ctx.settings.call
        deadline = ctx.round.deadline if ctx.round is not None else call.deadline
        with ctx.session.no_autoflush:  # the counter alone: the message's rows are written once, below
            reference = next_reference(ctx.session, call.reference_prefix, deadline.year)
        application = Application(
            reference=reference, status=ApplicationStatus.NEEDS_CLARIFICATION, late=ctx.late,
            received_at=ctx.row.received_at, round=ctx.round.name if ctx.round is not None else None)
        ctx.session.add(application)
    for attachment in ctx.attachments:  # before the version's flush: each row written once, complete
        attachment.application = application
    ctx.row.application = application
    if ctx.thread is not None:
        first_round = ctx.settings.call_rounds[0].name
        ruled = rule(ctx.session, application.round or first_round, RoundChange.NEW_VERSION)
        if ruled.audit_detail:
            audit(ctx.session, WORKER, "new_version_after_proposal", reference=application.reference,
                  detail={**ruled.audit_detail, "message": ctx.row.id})
    submission = add_version(ctx.session, application, ctx.form.record, ctx.problems, ctx.row, ctx.form_attachment,
                             after_deadline=ctx.thread is not None and ctx.late)
    ctx.application = application
    ctx.submission = submission


def add_version(session: Session, application: Application, record: FormRecord, problems: list[Problem],
                message: InboundMessage, attachment: Attachment | None, after_deadline: bool = False,
                reprocessed: bool = False) -> Submission:
    """A new version of ``application`` from ``record``; current when complete, or when nothing complete is."""
    municipality = record.get("municipality")
    found = find_municipality(municipality) if municipality else None
    complete = not problems
    current = application.current_submission
    submission = Submission(application=application, message_id=message.id, attachment=attachment,
                            reader=record.reader[:32], complete=complete, version=len(application.submissions) + 1,
                            sender=message.sender, after_deadline=after_deadline, reprocessed=reprocessed,
                            search_text=form_search_text(record.as_fields()))
    session.add(submission)
    if inspect(application).persistent:
        # a correction staff began before this version arrived is now stale; in SQL, so no concurrent bump is
        # lost (a new application has nothing to make stale)
        application.edit_version = Application.edit_version + 1  # an SQL expression, evaluated at the flush
    if complete or current is None or not current.complete:
        application.current_submission = submission
        application.status = ApplicationStatus.COMPLETE if complete else ApplicationStatus.NEEDS_CLARIFICATION
        if found is not None:
            application.municipality, application.municipality_code = found.official_name, found.code
    session.flush()  # one flush: the application, the version and the message's rows, each written once
    # the fields and problems as two bulk INSERTs, not ~30 objects through the unit of work (the flush was the
    # largest cost of a message's pipeline); the collections load from the database when read
    if record.values:
        session.execute(insert(FieldValueRow), [
            {"submission_id": submission.id, "key": v.key, "value": v.value, "raw": v.raw[:10000],
             "source": v.source[:255]} for v in record.values.values()])
    if problems:
        session.execute(insert(ProblemRow), [
            {"submission_id": submission.id, "field": p.field, "code": str(p.code), "params": dict(p.params)}
            for p in problems])
    session.expire(submission, ["values", "problems"])  # never an empty collection cached before the INSERTs
    return submission
