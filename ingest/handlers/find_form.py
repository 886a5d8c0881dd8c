"""Stage: find the application form among the attachments and read it; say why when there is none.

A follow-up without a form (a text answer to a clarification request) is attached to its application for
staff and gets a short receipt (after the application's decision letter went out, one saying that the case
is decided and a caseworker will answer); a message with no form and no application gets the "no form" reply.
"""

from __future__ import annotations

from ingest.context import MessageContext
from ingest.errors import FollowUpMessage, RejectMessage
from parsers import FormCandidate
from parsers.form_file import choose_form
from storage import Application
from storage.reasons import Reason, ReasonCode
from storage.states import ReplyKind


def process(ctx: MessageContext) -> None:
    candidates = [FormCandidate(n, a.filename, part.data, part.reading.result if part.reading is not None else None)
                  for n, (a, part) in enumerate(zip(ctx.attachments, ctx.attachment_parts, strict=True))]
    choice = choose_form(candidates, ctx.parse_options, ctx.parse)
    if choice.form is not None:
        ctx.form = choice.form
        ctx.form_attachment = ctx.attachments[choice.form.index]
        ctx.form_attachment.role = "form"
        return
    by_name = {a.filename: a for a in ctx.attachments}
    for filename, error in choice.unreadable:
        if filename in by_name:
            by_name[filename].role = "unreadable"
            by_name[filename].refusal = error.as_dict()
    names = [a.filename for a in ctx.attachments]
    thread = ctx.thread
    if thread is not None:
        ctx.row.application = thread
        for attachment in ctx.attachments:
            attachment.application = thread
    if choice.unreadable:
        refusals = [e.naming(f).as_dict() for f, e in choice.unreadable]
        raise RejectMessage(Reason(ReasonCode.FORM_UNREADABLE, {"files": refusals}), "unreadable",
                            application=thread, reference=thread.reference if thread else None, unreadable=refusals)
    if thread is not None:
        raise FollowUpMessage(Reason(ReasonCode.FOLLOW_UP, {"reference": thread.reference,
                                                            "found_by": ctx.thread_found_by}),
                              "receipt", application=thread, reference=thread.reference, attachments=names,
                              decided=decided(thread))
    raise RejectMessage(Reason(ReasonCode.NO_FORM if names else ReasonCode.NO_ATTACHMENTS), "no_form",
                        attachments=names)


def decided(application: Application) -> bool:
    """Whether the application's decision letter has been released (queued in the outbox as a reply, as
    ``storage.attention`` counts a follow-up after the decision)."""
    return any(reply.kind == ReplyKind.DECISION for reply in application.replies)
